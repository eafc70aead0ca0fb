// `ktriage serve`: crash collection over HTTP and a dashboard (lib/serve).
#include "ktriage/serve.h"

#include <signal.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "commands.h"
#include "fleet.h"
#include "ktriage/store.h"
#include "support/io.h"

namespace ktriage::cli {
namespace {

struct ServeCliOptions {
  std::string db;
  std::string listen = "127.0.0.1:8080";
  std::string token_file;
  bool public_read = false;
  uint64_t max_body = 16 << 20;
  unsigned request_timeout = 30;
  size_t max_connections = 64;
  size_t page_size = 50;
  std::string rules;
  KbOptions kb;
};

// "HOST:PORT", "[V6]:PORT" or ":PORT" (loopback).
Expected<std::pair<std::string, int>> parse_listen(const std::string& s) {
  const Error bad{fmt::format("--listen '{}': expected HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080", s)};
  const size_t colon = s.rfind(':');
  if (colon == std::string::npos) return bad;
  std::string host = s.substr(0, colon);
  if (host.starts_with("[") && host.ends_with("]")) host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "127.0.0.1";
  const std::string port = s.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return bad;
  const int p = std::stoi(port);
  if (p > 65535) return bad;
  return std::pair(host, p);
}

// The token: the file's first line, without surrounding white space.
Expected<std::string> read_token(const std::string& path) {
  Expected<std::string> text = support::read_file(path);
  if (!text) return text.error();
  std::string t = text->substr(0, text->find('\n'));
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t' || t.back() == '\r')) t.pop_back();
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.erase(0, 1);
  if (t.size() < 16) return Error{fmt::format("{}: the token must be at least 16 characters", path)};
  return t;
}

int run_serve(const ServeCliOptions& o) {
  Expected<std::pair<std::string, int>> listen = parse_listen(o.listen);
  if (!listen) return fail(listen.error().message);
  serve::Options options;
  options.database = o.db.empty() ? store::default_database() : o.db;
  options.host = listen->first;
  options.port = listen->second;
  options.public_read = o.public_read;
  options.limits.max_body_bytes = o.max_body;
  options.limits.request_timeout = std::chrono::seconds(o.request_timeout);
  options.limits.max_connections = o.max_connections;
  options.page_size = o.page_size;
  if (!o.token_file.empty()) {
    Expected<std::string> token = read_token(o.token_file);
    if (!token) return fail(token.error().message);
    options.token = *token;
  }
  Expected<SignatureRules> rules = load_signature_rules(o.rules);
  if (!rules) return fail(rules.error().message);
  Expected<KnowledgeBase> kb = load_kb(o.kb);
  if (!kb) return fail(kb.error().message);
  options.rules = &*rules;
  options.kb = &*kb;

  // SIGINT and SIGTERM stop the server from a thread of their own (every
  // other thread, started after this, keeps them blocked); a peer that
  // hangs up mid-answer is an error on that socket, not SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  Expected<std::unique_ptr<serve::Server>> server = serve::Server::create(options);
  if (!server) return fail(server.error().message);
  Expected<int> port = (*server)->bind();
  if (!port) return fail(port.error().message);
  if (options.token.empty())
    std::fprintf(stderr,
                 "ktriage: serve: no --token-file: anyone who can connect to %s may post and read; listening on "
                 "loopback only\n",
                 options.host.c_str());
  else if (options.public_read)
    std::fprintf(stderr, "ktriage: serve: uploads need the token; reading is open to anyone (--public-read)\n");
  const bool v6 = options.host.find(':') != std::string::npos;
  std::printf("listening on http://%s%s%s:%d/\n", v6 ? "[" : "", options.host.c_str(), v6 ? "]" : "", *port);
  std::fflush(stdout);

  std::thread stopper([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    (*server)->stop();
  });
  (*server)->run();
  // Stopped by a signal: the stopper thread has returned. Stopped otherwise
  // (the listening socket failed): wake it.
  ::kill(::getpid(), SIGTERM);
  stopper.join();
  return kFound;
}

}  // namespace

Run add_serve(CLI::App& app) {
  auto o = std::make_shared<ServeCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "serve",
      "Collect crash logs over HTTP and show their buckets in a dashboard. Every state is in the\n"
      "database: run several servers on one PostgreSQL behind a load balancer.\n\n"
      "  ktriage serve                                        http://127.0.0.1:8080/, the embedded database\n"
      "  ktriage serve --db postgresql://ktriage@db/crashes --listen 0.0.0.0:8080 --token-file /etc/ktriage/token\n"
      "  curl --data-binary @/var/log/kern.log -H \"Authorization: Bearer $(cat token)\" \\\n"
      "       -H \"X-Ktriage-Host: $(hostname)\" http://server:8080/api/v1/logs\n\n"
      "API and pages: docs/serve.md. SIGINT/SIGTERM stop it after the requests in progress.");
  cmd->add_option("--db", o->db,
                  "database: sqlite:PATH or a path, or postgresql://USER[:PASSWORD]@HOST[:PORT]/DB;\n"
                  "default: $KTRIAGE_DB, else $XDG_DATA_HOME/ktriage/ktriage.db");
  cmd->add_option("--listen", o->listen, "address and port to listen on (port 0: any free port, printed)")
      ->capture_default_str();
  cmd->add_option("--token-file", o->token_file,
                  "file whose first line is the token uploads must send as 'Authorization: Bearer TOKEN'\n"
                  "(browsers: any user name, the token as password); without it only loopback is allowed")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--public-read", o->public_read, "with --token-file: reading (API, dashboard) needs no token");
  cmd->add_option("--max-body", o->max_body, "largest upload, after decompression (16M, 512K, ...)")
      ->transform(CLI::AsSizeValue(false))
      ->default_str("16M")
      ->group("Limits");
  cmd->add_option("--request-timeout", o->request_timeout, "seconds to receive, analyse and store one upload")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600))
      ->group("Limits");
  cmd->add_option("--max-connections", o->max_connections,
                  "connections served at once (as many more wait; the rest wait in the listen backlog)")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096))
      ->group("Limits");
  cmd->add_option("--page-size", o->page_size, "rows per dashboard page")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  add_signature_rules_option(*cmd, o->rules);
  add_kb_options(*cmd, o->kb);
  return [o] { return run_serve(*o); };
}

}  // namespace ktriage::cli
