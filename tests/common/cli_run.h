// Running the built ktriage as a user would: arguments, environment changes,
// optionally as an unprivileged user (when the test runs as root), with
// stdout, stderr and the exit status captured.
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "common/test_util.h"
#include "common/unprivileged.h"

namespace ktriage::test {

struct CliResult {
  int status = -1;
  std::string out, err;
};

// Runs ktriage with `args` and `stdin_path` as standard input; `env` entries
// are set ("NAME=value") or, with no '=', unset. As root with
// `unprivileged`, it runs as nobody.

inline CliResult run_ktriage(const std::vector<std::string>& args, const std::vector<std::string>& env = {},
                             bool unprivileged = false, const std::string& stdin_path = "/dev/null") {
  char out_name[] = "/tmp/kt-out-XXXXXX", err_name[] = "/tmp/kt-err-XXXXXX";
  int out = mkstemp(out_name), err = mkstemp(err_name);
  pid_t pid = fork();
  if (pid == 0) {
    int in = open(stdin_path.c_str(), O_RDONLY);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    for (const std::string& e : env) {
      size_t eq = e.find('=');
      if (eq == std::string::npos)
        unsetenv(e.c_str());
      else
        setenv(e.substr(0, eq).c_str(), e.substr(eq + 1).c_str(), 1);
    }
    if (std::optional<Ids> ids = unprivileged ? unprivileged_ids() : std::nullopt;
        ids && (setgroups(0, nullptr) != 0 || setgid(ids->gid) != 0 || setuid(ids->uid) != 0))
      _exit(126);
    std::vector<char*> argv = {const_cast<char*>(KTRIAGE_BINARY)};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CliResult r;
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(out_name);
  r.err = read_file(err_name);
  close(out);
  close(err);
  unlink(out_name);
  unlink(err_name);
  return r;
}

}  // namespace ktriage::test
