// Tests that need a service refusing root (postgres) or permissions that
// root ignores (a read-only directory) run those parts as `nobody` when the
// test runs as root, as CI does.
#pragma once

#include <pwd.h>
#include <sys/types.h>
#include <unistd.h>

#include <optional>

namespace ktriage::test {

struct Ids {
  uid_t uid;
  gid_t gid;
};

// nobody's user and group when we are root; nullopt otherwise.
inline std::optional<Ids> unprivileged_ids() {
  if (::geteuid() != 0) return std::nullopt;
  const passwd* pw = ::getpwnam("nobody");
  if (!pw) return Ids{65534, 65534};
  return Ids{pw->pw_uid, pw->pw_gid};
}

}  // namespace ktriage::test
