#include "debuginfo/download.h"

#include <curl/curl.h>
#include <elfutils/debuginfod.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "debuginfo/elf_id.h"
#include "support/io.h"

namespace ktriage::debuginfo {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

void report(const FetchOptions& o, const std::string& what, uint64_t done, uint64_t total, bool finished = false) {
  if (o.progress) o.progress(FetchProgress{what, done, total, finished});
}

// Big downloads need a yes.
std::optional<Error> confirm(const FetchOptions& o, const std::string& what, uint64_t bytes) {
  if (bytes <= o.confirm_above) return std::nullopt;
  if (o.confirm && o.confirm(what, bytes)) return std::nullopt;
  return Error{fmt::format("{} is {}: not downloaded without confirmation (--yes)", what, human_size(bytes))};
}

uint64_t dir_bytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

struct ProcessResult {
  int status = -1;          // exit status, -1 when it could not run
  std::string output;       // stdout and stderr
};

// Runs argv in `cwd` with output to a file; `poll` is called every 200 ms
// and may return false to stop the process.
ProcessResult run(const std::vector<std::string>& argv, const std::string& cwd, const std::function<bool()>& poll) {
  ProcessResult r;
  const std::string log = cwd + "/.output";
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    r.output = std::strerror(errno);
    return r;
  }
  if (pid == 0) {
    setpgid(0, 0);
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || null < 0 || chdir(cwd.c_str()) != 0) _exit(127);
    dup2(null, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  bool stopped = false;
  for (;;) {
    const pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (!stopped && poll && !poll()) {
      stopped = true;
      kill(-pid, SIGTERM);
    }
  }
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (auto out = support::read_file(log)) r.output = *out;
  std::error_code ec;
  fs::remove(log, ec);
  return r;
}

// apt's error lines ("E: ..."), for a one-line message.
std::string apt_errors(const std::string& output) {
  std::istringstream in(output);
  std::string line, out;
  while (std::getline(in, line)) {
    if (line.rfind("E: ", 0) == 0) out += (out.empty() ? "" : "; ") + line.substr(3);
  }
  if (out.empty()) {
    out = output.substr(0, output.find('\n'));
    if (out.empty()) out = "apt-get failed";
  }
  return out;
}

// One-time libcurl setup.
void curl_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};

struct Transfer {
  const FetchOptions* options;
  std::string what;
  uint64_t total = 0;
};

int curl_progress(void* data, curl_off_t dltotal, curl_off_t dlnow, curl_off_t, curl_off_t) {
  const Transfer* t = static_cast<const Transfer*>(data);
  report(*t->options, t->what, static_cast<uint64_t>(dlnow), dltotal > 0 ? static_cast<uint64_t>(dltotal) : t->total);
  return 0;
}

void curl_common(CURL* c, const std::string& url, const FetchOptions& o) {
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(o.timeout_seconds));
  // A stalled server: less than 1 byte/s for the timeout.
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(o.timeout_seconds));
  curl_easy_setopt(c, CURLOPT_USERAGENT, "ktriage");
}

std::string curl_problem(CURLcode rc, CURL* c, const char* errbuf) {
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 400) return fmt::format("HTTP {}", status);
  if (rc == CURLE_OPERATION_TIMEDOUT) return fmt::format("timed out ({})", *errbuf ? errbuf : "no data");
  return *errbuf ? errbuf : curl_easy_strerror(rc);
}

// Sets environment variables for the length of a debuginfod call (the
// client reads its configuration from the environment).
class EnvOverride {
 public:
  void set(const char* name, const std::string& value) {
    const char* old = std::getenv(name);
    saved_.push_back({name, old ? std::optional<std::string>(old) : std::nullopt});
    setenv(name, value.c_str(), 1);
  }
  ~EnvOverride() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->second) setenv(it->first, it->second->c_str(), 1);
      else unsetenv(it->first);
    }
  }

 private:
  std::vector<std::pair<const char*, std::optional<std::string>>> saved_;
};

struct DebuginfodCall {
  const FetchOptions* options;
  std::string what;
  bool asked = false, declined = false;
  uint64_t last = 0, total = 0;
};

int debuginfod_progress(debuginfod_client* client, long a, long b) {
  auto* call = static_cast<DebuginfodCall*>(debuginfod_get_user_data(client));
  if (b > 0 && !call->asked) {
    call->asked = true;
    call->total = static_cast<uint64_t>(b);
    if (confirm(*call->options, call->what, static_cast<uint64_t>(b))) {
      call->declined = true;
      return 1;  // cancels the transfer
    }
  }
  call->last = a > 0 ? static_cast<uint64_t>(a) : 0;
  report(*call->options, call->what, call->last, b > 0 ? static_cast<uint64_t>(b) : 0);
  return 0;
}

}  // namespace

Expected<Downloaded> apt_download(const DebugPackage& p, const std::string& dir, const FetchOptions& o) {
  const std::string spec = p.version.empty() ? p.name : p.name + "=" + p.version;
  const std::string timeout = std::to_string(o.timeout_seconds);
  const std::vector<std::string> common = {"-o", "Acquire::http::Timeout=" + timeout,
                                           "-o", "Acquire::https::Timeout=" + timeout, "-o", "Acquire::Retries=0"};
  std::vector<std::string> argv = {"apt-get", "download", "--print-uris"};
  argv.insert(argv.end(), common.begin(), common.end());
  argv.push_back(spec);
  ProcessResult uris = run(argv, dir, {});
  if (uris.status == 127 || uris.status == -1) return Error{"apt-get is not available"};
  if (uris.status != 0) return Error{fmt::format("apt has no {}: {}", spec, apt_errors(uris.output))};
  // 'URL' FILE SIZE HASH
  std::istringstream line(uris.output.substr(uris.output.find('\'')));
  std::string url, file;
  uint64_t size = 0;
  line >> url >> file >> size;
  if (url.size() < 2 || file.empty() || file.find('/') != std::string::npos) {
    return Error{fmt::format("apt-get download --print-uris {}: unexpected output", spec)};
  }
  url = url.substr(1, url.size() - 2);
  const std::string what = fmt::format("{} {}", p.name, p.version.empty() ? "(apt's candidate)" : p.version);
  if (auto err = confirm(o, what, size)) return *err;

  argv = {"apt-get", "download", "-q"};
  argv.insert(argv.end(), common.begin(), common.end());
  argv.push_back(spec);
  const std::string label = "downloading " + p.name;
  uint64_t seen = 0;
  auto last_change = Clock::now();
  bool stalled = false;
  ProcessResult got = run(argv, dir, [&] {
    const uint64_t now = dir_bytes(dir);
    if (now != seen) {
      seen = now;
      last_change = Clock::now();
    } else if (Clock::now() - last_change > std::chrono::seconds(o.timeout_seconds + 5)) {
      stalled = true;  // apt's own timeouts should have fired
      return false;
    }
    report(o, label, seen, size);
    return true;
  });
  report(o, label, size, size, true);
  if (stalled) return Error{fmt::format("downloading {}: no progress for {} s", url, o.timeout_seconds + 5)};
  if (got.status != 0) return Error{fmt::format("downloading {}: {}", url, apt_errors(got.output))};
  const std::string path = dir + "/" + file;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return Error{fmt::format("apt-get download did not leave {}", file)};
  return Downloaded{path, url, fs::file_size(path, ec)};
}

Expected<Downloaded> http_download(const std::string& url, const std::string& dir, const FetchOptions& o) {
  curl_init();
  std::unique_ptr<CURL, CurlDeleter> c(curl_easy_init());
  if (!c) return Error{"libcurl could not start"};
  char errbuf[CURL_ERROR_SIZE] = "";
  curl_common(c.get(), url, o);
  curl_easy_setopt(c.get(), CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c.get(), CURLOPT_NOBODY, 1L);
  curl_easy_setopt(c.get(), CURLOPT_FAILONERROR, 1L);
  CURLcode rc = curl_easy_perform(c.get());
  if (rc != CURLE_OK) return Error{fmt::format("{}: {}", url, curl_problem(rc, c.get(), errbuf))};
  curl_off_t length = -1;
  curl_easy_getinfo(c.get(), CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
  const std::string name = url.substr(url.rfind('/') + 1);
  if (length > 0) {
    if (auto err = confirm(o, name, static_cast<uint64_t>(length))) return *err;
  }

  const std::string path = dir + "/" + (name.empty() || name == ".." ? "download" : name);
  std::unique_ptr<FILE, int (*)(FILE*)> out(std::fopen(path.c_str(), "wbx"), std::fclose);
  if (!out) return Error{fmt::format("{}: {}", path, std::strerror(errno))};
  Transfer t{&o, "downloading " + name, length > 0 ? static_cast<uint64_t>(length) : 0};
  curl_easy_setopt(c.get(), CURLOPT_NOBODY, 0L);
  curl_easy_setopt(c.get(), CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, out.get());
  curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, fwrite);
  curl_easy_setopt(c.get(), CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c.get(), CURLOPT_XFERINFOFUNCTION, curl_progress);
  curl_easy_setopt(c.get(), CURLOPT_XFERINFODATA, &t);
  errbuf[0] = '\0';
  rc = curl_easy_perform(c.get());
  report(o, t.what, t.total, t.total, true);
  const bool flushed = std::fflush(out.get()) == 0;
  if (rc == CURLE_WRITE_ERROR || !flushed) return Error{fmt::format("writing {}: {}", path, std::strerror(errno))};
  if (rc != CURLE_OK) return Error{fmt::format("{}: {}", url, curl_problem(rc, c.get(), errbuf))};
  curl_off_t got = 0;
  curl_easy_getinfo(c.get(), CURLINFO_SIZE_DOWNLOAD_T, &got);
  if (length > 0 && got != length) {
    return Error{fmt::format("{}: got {} of {} bytes", url, got, length)};
  }
  return Downloaded{path, url, static_cast<uint64_t>(got)};
}

std::string debuginfod_servers(const FetchOptions& o) {
  std::string urls;
  if (o.use_debuginfod_env) {
    if (const char* env = std::getenv(DEBUGINFOD_URLS_ENV_VAR)) urls = env;
  }
  for (const std::string& u : o.debuginfod_urls) urls += (urls.empty() ? "" : " ") + u;
  return urls.find_first_not_of(' ') == std::string::npos ? "" : urls;
}

Expected<Downloaded> debuginfod_fetch(const std::string& build_id, const std::string& what, const FetchOptions& o,
                                      bool* server_down) {
  const std::string servers = debuginfod_servers(o);
  if (servers.empty()) return Error{"no debuginfod server (DEBUGINFOD_URLS, --debuginfod URL)"};
  EnvOverride env;
  env.set(DEBUGINFOD_URLS_ENV_VAR, servers);
  if (!std::getenv(DEBUGINFOD_TIMEOUT_ENV_VAR)) env.set(DEBUGINFOD_TIMEOUT_ENV_VAR, std::to_string(o.timeout_seconds));
  std::unique_ptr<debuginfod_client, void (*)(debuginfod_client*)> client(debuginfod_begin(), debuginfod_end);
  if (!client) return Error{"libdebuginfod could not start"};
  DebuginfodCall call{&o, fmt::format("{} ({})", what, build_id.substr(0, 12))};
  debuginfod_set_user_data(client.get(), &call);
  debuginfod_set_progressfn(client.get(), debuginfod_progress);
  std::vector<unsigned char> raw;
  for (size_t i = 0; i + 1 < build_id.size(); i += 2) {
    raw.push_back(static_cast<unsigned char>(std::stoul(build_id.substr(i, 2), nullptr, 16)));
  }
  char* found = nullptr;
  const int fd = debuginfod_find_debuginfo(client.get(), raw.data(), static_cast<int>(raw.size()), &found);
  std::unique_ptr<char, decltype(&std::free)> path(found, std::free);
  const std::string url = debuginfod_get_url(client.get()) ? debuginfod_get_url(client.get()) : "";
  if (call.last > 0 || call.asked) report(o, "downloading " + call.what, call.last, call.last, true);
  if (fd < 0) {
    if (call.declined) {
      return Error{fmt::format("debuginfod {} is {}: not downloaded without confirmation (--yes)", call.what,
                               human_size(call.total))};
    }
    const int e = -fd;
    if (server_down && e != ENOENT) *server_down = true;
    std::string why = e == ENOENT ? "not found" : std::strerror(e);
    if (e == ETIME || e == ETIMEDOUT) why = fmt::format("timed out (DEBUGINFOD_TIMEOUT {} s)",
                                                         std::getenv(DEBUGINFOD_TIMEOUT_ENV_VAR));
    return Error{fmt::format("debuginfod {} for {}: {} ({})", build_id, what, why, servers)};
  }
  close(fd);
  const std::string file = path ? path.get() : "";
  Expected<std::string> idOrErr = build_id_of(file);
  if (!idOrErr || *idOrErr != build_id) {
    std::error_code ec;
    fs::remove(file, ec);
    return Error{fmt::format("debuginfod {} sent a file with build-id {} for {} (removed from its cache)",
                             url.empty() ? servers : url, idOrErr ? (idOrErr->empty() ? "none" : *idOrErr) : "unreadable",
                             build_id)};
  }
  std::error_code ec;
  return Downloaded{file, url.empty() ? servers : url, url.empty() ? 0 : fs::file_size(file, ec)};
}

}  // namespace ktriage::debuginfo
