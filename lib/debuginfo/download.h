// Getting packages and files over the network: the system's apt for
// Debian/Ubuntu packages, libcurl for RPMs, libdebuginfod for build-ids.
// Every call is bounded by FetchOptions::timeout_seconds of no progress,
// confirms big downloads (FetchOptions::confirm) and reports progress.
#pragma once

#include <cstdint>
#include <string>

#include "ktriage/debuginfo.h"
#include "ktriage/error.h"

namespace ktriage::debuginfo {

struct Downloaded {
  std::string path;    // the file
  std::string origin;  // URL or server it came from
  uint64_t bytes = 0;  // transferred over the network (0 when served from a local cache)
};

// `apt-get download NAME[=VERSION]` into `dir` (apt checks the archive's
// hash). The size comes first from --print-uris, for the confirmation.
Expected<Downloaded> apt_download(const DebugPackage& package, const std::string& dir, const FetchOptions& options);

// An HTTP(S) GET of `url` into `dir`, after a HEAD for its size. A 404, a
// refused connection, a stall or a short body is an Error.
Expected<Downloaded> http_download(const std::string& url, const std::string& dir, const FetchOptions& options);

// The debuginfod servers to ask: DEBUGINFOD_URLS (when the options say so),
// then FetchOptions::debuginfod_urls; space-separated, "" when none.
std::string debuginfod_servers(const FetchOptions& options);

// The debug file with `build_id` from debuginfod (its cache first). The
// file's own build-id is checked: a server that sends another file gets it
// removed from the debuginfod cache and an Error. `what` names it in
// messages and progress ("vmlinux", "module crashzoo"). `server_down` is set
// when the servers did not answer (refused, timed out), not for "not found".
Expected<Downloaded> debuginfod_fetch(const std::string& build_id, const std::string& what, const FetchOptions& options,
                                      bool* server_down = nullptr);

}  // namespace ktriage::debuginfo
