#include "common/browser.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

namespace ktriage::test {
namespace fs = std::filesystem;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::optional<std::string> chromium_executable() {
  if (const char* env = std::getenv("KTRIAGE_CHROMIUM"); env && *env) return std::string(env);
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  for (size_t at = 0; at <= dirs.size();) {
    size_t colon = dirs.find(':', at);
    std::string dir = dirs.substr(at, colon == std::string::npos ? std::string::npos : colon - at);
    for (const char* name : {"chromium", "chromium-browser"}) {
      fs::path p = fs::path(dir.empty() ? "." : dir) / name;
      if (::access(p.c_str(), X_OK) == 0) return p.string();
    }
    if (colon == std::string::npos) break;
    at = colon + 1;
  }
  return std::nullopt;
}

namespace {

std::string tail(const fs::path& file, size_t max_bytes) {
  std::ifstream in(file, std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return all.size() > max_bytes ? all.substr(all.size() - max_bytes) : all;
}

std::optional<std::string> base64_decode(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(in.size() / 4 * 3);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    int v = value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

}  // namespace

struct Browser::Impl {
  pid_t pid = -1;
  int fd = -1;  // our end of the socket pair: we write commands, read answers and events
  fs::path profile;
  fs::path log;
  std::chrono::seconds timeout{30};
  std::string buffer;  // bytes read, not yet a whole message
  int next_id = 1;
  std::string session;
  PageLoad* recording = nullptr;  // the load whose events are being recorded
  bool loaded = false;
  std::string main_frame;

  ~Impl() {
    if (fd >= 0) {
      const std::string close = R"({"id":999999,"method":"Browser.close"})";
      (void)::send(fd, close.c_str(), close.size() + 1, MSG_NOSIGNAL);
    }
    if (pid > 0) {
      // A second to close by itself, then the whole process group.
      for (int i = 0; i < 20 && ::waitpid(pid, nullptr, WNOHANG) == 0; ++i) ::usleep(50'000);
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (fd >= 0) ::close(fd);
    std::error_code ec;
    if (!profile.empty()) fs::remove_all(profile, ec);
  }

  Error failure(const std::string& what) const {
    return Error{"chromium: " + what + " (its log " + log.string() + ": " + tail(log, 600) + ")"};
  }

  Expected<bool> send(const Json& message) {
    std::string text = message.dump();
    text.push_back('\0');
    size_t at = 0;
    while (at < text.size()) {
      ssize_t n = ::send(fd, text.data() + at, text.size() - at, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return failure(std::string("cannot send a command: ") + std::strerror(errno));
      at += static_cast<size_t>(n);
    }
    return true;
  }

  // The next whole message, waiting until `deadline`.
  Expected<Json> receive(Clock::time_point deadline) {
    for (;;) {
      size_t nul = buffer.find('\0');
      if (nul != std::string::npos) {
        Json j = Json::parse(buffer.substr(0, nul), nullptr, false);
        buffer.erase(0, nul + 1);
        if (j.is_discarded()) return failure("sent a message that is not JSON");
        return j;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return failure("no answer in time");
      pollfd p{fd, POLLIN, 0};
      int r = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1000)));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) continue;
      char buf[65536];
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return failure("exited");
      buffer.append(buf, static_cast<size_t>(n));
    }
  }

  // What the page does, as events arrive.
  void on_event(const Json& e) {
    const std::string method = e.value("method", "");
    const Json& p = e.contains("params") ? e["params"] : Json::object();
    if (method == "Page.javascriptDialogOpening") {
      // Accepted at once, or the page would wait for a click forever.
      if (recording) recording->dialogs.push_back(p.value("type", "") + ": " + p.value("message", ""));
      (void)send({{"id", next_id++},
                  {"method", "Page.handleJavaScriptDialog"},
                  {"params", {{"accept", true}}},
                  {"sessionId", session}});
      return;
    }
    if (!recording) return;
    if (method == "Page.loadEventFired") {
      loaded = true;
    } else if (method == "Runtime.consoleAPICalled") {
      std::string text = p.value("type", "log") + ":";
      for (const Json& a : p.value("args", Json::array()))
        text +=
            " " + (a.contains("value") ? (a["value"].is_string() ? a["value"].get<std::string>() : a["value"].dump())
                                       : a.value("description", a.value("type", "")));
      recording->console.push_back(text);
    } else if (method == "Runtime.exceptionThrown") {
      const Json& d = p.value("exceptionDetails", Json::object());
      recording->console.push_back("exception: " + d.value("text", "") + " " +
                                   d.value("exception", Json::object()).value("description", ""));
    } else if (method == "Log.entryAdded") {
      const Json& l = p.value("entry", Json::object());
      recording->log.push_back(l.value("level", "") + " " + l.value("source", "") + ": " + l.value("text", ""));
    } else if (method == "Network.requestWillBeSent") {
      recording->requests.push_back(p.value("request", Json::object()).value("url", ""));
    } else if (method == "Network.responseReceived") {
      const Json& r = p.value("response", Json::object());
      if (p.value("type", "") == "Document" && r.value("url", "") == recording->url && recording->status == 0)
        recording->status = r.value("status", 0);
    }
  }

  // Sends a command, handling events until its answer; the answer's result.
  Expected<Json> call(const std::string& method, const Json& params = Json::object(), bool in_page = true) {
    const int id = next_id++;
    Json message = {{"id", id}, {"method", method}, {"params", params}};
    if (in_page) message["sessionId"] = session;
    if (Expected<bool> ok = send(message); !ok) return ok.error();
    const Clock::time_point deadline = Clock::now() + timeout;
    for (;;) {
      Expected<Json> m = receive(deadline);
      if (!m) return m.error();
      if (m->contains("id") && (*m)["id"] == id) {
        if (m->contains("error"))
          return Error{"chromium: " + method + ": " + (*m)["error"].value("message", std::string("failed"))};
        return m->value("result", Json::object());
      }
      if (!m->contains("id")) on_event(*m);
    }
  }
};

Expected<std::unique_ptr<Browser>> Browser::start(Options options) {
  std::optional<std::string> exe = options.executable.empty() ? chromium_executable() : options.executable;
  if (!exe)
    return Error{"no chromium on PATH (scripts/install-deps.sh installs Debian's chromium; or set KTRIAGE_CHROMIUM)"};
  std::unique_ptr<Browser> b(new Browser());
  b->impl_ = std::make_unique<Impl>();
  Impl& impl = *b->impl_;
  impl.timeout = options.timeout;
  std::random_device rd;
  impl.profile = fs::temp_directory_path() /
                 ("ktriage-chromium-" + std::to_string(::getpid()) + "-" + std::to_string(rd() % 1000000));
  std::error_code ec;
  fs::create_directories(impl.profile, ec);
  if (ec) return Error{"cannot create " + impl.profile.string() + ": " + ec.message()};
  impl.log = impl.profile.string() + ".log";
  b->log_ = impl.log;

  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
    return Error{std::string("socketpair: ") + std::strerror(errno)};
  const std::vector<std::string> argv = {
      *exe,
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--no-default-browser-check",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-extensions",
      "--disable-dev-shm-usage",
      "--hide-scrollbars",
      "--mute-audio",
      "--remote-debugging-pipe",
      "--user-data-dir=" + impl.profile.string(),
      "--window-size=" + std::to_string(options.width) + "," + std::to_string(options.height),
  };
  std::vector<std::string> args = argv;
  if (options.offline) {
    // Loopback bypasses any proxy in Chromium; everything else goes to the discard port or fails to resolve.
    args.push_back("--proxy-server=http://127.0.0.1:9");
    args.push_back("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1");
  }
  args.push_back("about:blank");
  const pid_t parent = ::getpid();
  impl.pid = ::fork();
  if (impl.pid < 0) return Error{std::string("fork: ") + std::strerror(errno)};
  if (impl.pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) _exit(126);
    // fds 3 and 4: the DevTools pipe (commands in, answers out), both the
    // child's end of the socket pair.
    const int child = ::fcntl(pair[1], F_DUPFD, 10);
    ::dup2(child, 3);
    ::dup2(child, 4);
    int log = ::open(impl.log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int null = ::open("/dev/null", O_RDONLY);
    if (log >= 0) {
      ::dup2(log, 1);
      ::dup2(log, 2);
    }
    if (null >= 0) ::dup2(null, 0);
    std::vector<char*> c_args;
    for (const std::string& a : args) c_args.push_back(const_cast<char*>(a.c_str()));
    c_args.push_back(nullptr);
    ::execv(c_args[0], c_args.data());
    _exit(127);
  }
  ::close(pair[1]);
  impl.fd = pair[0];

  // A page of our own, attached with its own session.
  Expected<Json> target = impl.call("Target.createTarget", {{"url", "about:blank"}}, false);
  if (!target) return target.error();
  Expected<Json> attached =
      impl.call("Target.attachToTarget", {{"targetId", (*target)["targetId"]}, {"flatten", true}}, false);
  if (!attached) return attached.error();
  impl.session = (*attached)["sessionId"].get<std::string>();
  for (const char* domain : {"Page.enable", "Runtime.enable", "Log.enable", "Network.enable"})
    if (Expected<Json> ok = impl.call(domain); !ok) return ok.error();
  return b;
}

Browser::~Browser() = default;

Expected<PageLoad> Browser::load(const std::string& url) {
  Impl& impl = *impl_;
  PageLoad page;
  page.url = url;
  impl.recording = &page;
  impl.loaded = false;
  struct Stop {
    Impl& i;
    ~Stop() { i.recording = nullptr; }
  } stop{impl};
  Expected<Json> nav = impl.call("Page.navigate", {{"url", url}});
  if (!nav) return nav.error();
  if (nav->contains("errorText") && !(*nav)["errorText"].get<std::string>().empty())
    return Error{"chromium: cannot load " + url + ": " + (*nav)["errorText"].get<std::string>()};
  const Clock::time_point deadline = Clock::now() + impl.timeout;
  while (!impl.loaded) {
    Expected<Json> m = impl.receive(deadline);
    if (!m) return Error{m.error().message + " waiting for " + url + " to load"};
    if (!m->contains("id")) impl.on_event(*m);
  }
  Expected<std::string> dom = evaluate("document.documentElement.outerHTML");
  if (!dom) return dom.error();
  page.dom = Json::parse(*dom).get<std::string>();
  // Events that arrived with the answer (a late console call, a dialog).
  return page;
}

Expected<std::string> Browser::evaluate(const std::string& expression) {
  Expected<Json> r = impl_->call("Runtime.evaluate", {{"expression", expression}, {"returnByValue", true}});
  if (!r) return r.error();
  if (r->contains("exceptionDetails"))
    return Error{"chromium: evaluating '" + expression + "' threw: " + (*r)["exceptionDetails"].dump()};
  const Json& result = (*r)["result"];
  return result.contains("value") ? result["value"].dump() : std::string("null");
}

Expected<Json> Browser::call(const std::string& method, const Json& params) { return impl_->call(method, params); }

Expected<bool> Browser::screenshot(const fs::path& png, bool full_page) {
  Json params = {{"format", "png"}};
  if (full_page) {
    Expected<Json> metrics = impl_->call("Page.getLayoutMetrics");
    if (!metrics) return metrics.error();
    const Json& size = metrics->contains("cssContentSize") ? (*metrics)["cssContentSize"] : (*metrics)["contentSize"];
    params["captureBeyondViewport"] = true;
    params["clip"] = {{"x", 0}, {"y", 0}, {"width", size["width"]}, {"height", size["height"]}, {"scale", 1}};
  }
  Expected<Json> shot = impl_->call("Page.captureScreenshot", params);
  if (!shot) return shot.error();
  std::optional<std::string> bytes = base64_decode((*shot)["data"].get<std::string>());
  if (!bytes) return Error{"chromium: a screenshot that is not base64"};
  std::error_code ec;
  fs::create_directories(png.parent_path(), ec);
  std::ofstream out(png, std::ios::binary);
  out.write(bytes->data(), static_cast<std::streamsize>(bytes->size()));
  if (!out) return Error{"cannot write " + png.string()};
  return true;
}

}  // namespace ktriage::test
