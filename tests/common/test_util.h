// Small helpers the test binaries share: reading a file, running a command,
// objdump's view of a function, and finding the kernel-lab material
// (shared/kernel-lab and its download).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ktriage::test {

// The sanitizers this build runs under, as configured with
// -DKTRIAGE_SANITIZE=address,undefined; "" in a plain build. The test
// binaries and ktriage are built alike.
#ifdef KTRIAGE_SANITIZE
inline constexpr std::string_view kSanitizers = KTRIAGE_SANITIZE;
#else
inline constexpr std::string_view kSanitizers = "";
#endif

// The whole file, bytes as they are; "" when it cannot be read.
inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A fresh directory <tmp>/<name>-<pid> for a test's files, removed with
// everything in it when the object goes (or is assigned another).
class ScratchDir {
 public:
  ScratchDir() = default;
  explicit ScratchDir(const std::string& name)
      : path_(std::filesystem::temp_directory_path() / (name + "-" + std::to_string(getpid()))) {
    std::filesystem::create_directories(path_);
  }
  ScratchDir(ScratchDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  ScratchDir& operator=(ScratchDir&& other) noexcept {
    remove();
    path_ = std::exchange(other.path_, {});
    return *this;
  }
  ~ScratchDir() { remove(); }

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::filesystem::path& sub) const { return path_ / sub; }
  std::string string() const { return path_.string(); }

 private:
  void remove() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  std::filesystem::path path_;
};

// What `sh -c cmd` prints on stdout; "" when it cannot be started.
inline std::string run_command(const std::string& cmd) {
  std::string out;
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), pclose);
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p.get())) > 0) out.append(buf, n);
  return out;
}

// One instruction as `objdump -d` prints it.
struct ObjInsn {
  uint64_t address = 0;
  std::vector<uint8_t> bytes;
  std::string text;    // "call   ffffffff81001000 <__fentry__>"
  std::string target;  // what objdump names in <...>, "" when nothing
};

// The lines `objdump <options> elf` prints inside one function's listing.
inline std::vector<std::string> objdump_lines(const std::string& options, const std::string& elf,
                                              const std::string& func) {
  std::istringstream in(run_command("objdump " + options + " " + elf));
  std::vector<std::string> out;
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line.find(">:") != std::string::npos) {
      inside = line.find("<" + func + ">:") != std::string::npos;
      continue;
    }
    if (inside) out.push_back(line);
  }
  return out;
}

// `objdump -d` of one function, in order.
inline std::vector<ObjInsn> objdump_function(const std::string& elf, const std::string& func) {
  std::vector<ObjInsn> out;
  for (const std::string& line : objdump_lines("-d", elf, func)) {
    const size_t colon = line.find(":\t");
    if (colon == std::string::npos) continue;
    const size_t tab2 = line.find('\t', colon + 2);
    std::istringstream hex(line.substr(colon + 2, tab2 == std::string::npos ? std::string::npos : tab2 - colon - 2));
    std::vector<uint8_t> bytes;
    std::string b;
    while (hex >> b) bytes.push_back(static_cast<uint8_t>(std::stoul(b, nullptr, 16)));
    if (tab2 == std::string::npos) {  // continuation of a long instruction's bytes
      if (!out.empty()) out.back().bytes.insert(out.back().bytes.end(), bytes.begin(), bytes.end());
      continue;
    }
    ObjInsn i;
    i.address = std::stoull(line, nullptr, 16);
    i.bytes = bytes;
    i.text = line.substr(tab2 + 1);
    const size_t lt = i.text.rfind('<'), gt = i.text.rfind('>');
    if (lt != std::string::npos && gt != std::string::npos && gt > lt) i.target = i.text.substr(lt + 1, gt - lt - 1);
    out.push_back(std::move(i));
  }
  return out;
}

// The kernel lab: its logs and ground truth in shared/, Debian's -dbg
// vmlinux and modules in the download ($KLAB_CACHE, default
// ~/.cache/kernel-lab, filled by `run-crash.sh setup`).
struct KernelLab {
  std::string dir;           // shared/kernel-lab
  std::string cache;         // the download
  std::string release;       // the lab kernel's release
  std::string vmlinux;       // -dbg vmlinux with DWARF
  std::string module_dbg;    // -dbg modules (crc-itu-t.ko, ...)
  std::string crashzoo_dir;  // logs/debug: the crashzoo.ko every log loaded, with DWARF
  std::string truth;         // logs/truth.jsonl
  bool ok = false;           // all of the above are there
};

inline KernelLab kernel_lab() {
  namespace fs = std::filesystem;
  KernelLab l;
  l.dir = std::string(KTRIAGE_SHARED_DIR) + "/kernel-lab";
  if (const char* c = std::getenv("KLAB_CACHE")) {
    l.cache = c;
  } else if (const char* h = std::getenv("HOME")) {
    l.cache = std::string(h) + "/.cache/kernel-lab";
  }
  l.release = "6.1.0-56-cloud-amd64";
  l.vmlinux = l.cache + "/dbg/usr/lib/debug/boot/vmlinux-" + l.release;
  l.module_dbg = l.cache + "/dbg/usr/lib/debug/lib/modules/" + l.release;
  l.crashzoo_dir = l.dir + "/logs/debug";
  l.truth = l.dir + "/logs/truth.jsonl";
  std::error_code ec;
  l.ok = fs::exists(l.vmlinux, ec) && fs::is_directory(l.module_dbg, ec) && fs::exists(l.truth, ec) &&
         fs::exists(l.crashzoo_dir + "/crashzoo.ko", ec);
  return l;
}

}  // namespace ktriage::test
