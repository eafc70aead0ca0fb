// The kernel a log came from, and the build-ids its installed files give.
#pragma once

#include <string>
#include <vector>

#include "ktriage/debuginfo.h"

namespace ktriage::debuginfo {

// Fills the build-ids `kernel` lacks from the kernel's installed files under
// `root`: boot/vmlinuz-RELEASE (its banner must carry the log's version
// string, else it is another build of the same release and nothing is taken
// from `root`), boot/vmlinux-RELEASE, lib/modules/RELEASE/**/NAME.ko*; with
// root "/" and the running kernel, /sys/kernel/notes and /sys/module.
// Says in `notes` what it used or why not.
void find_installed_build_ids(KernelIdentity& kernel, const std::string& root, std::vector<std::string>& notes);

// Module names as the kernel compares them: '-' and '_' alike.
std::string module_key(std::string name);

}  // namespace ktriage::debuginfo
