// Parallel reading of many logs: one worker per core takes the next input,
// streams it through its own LogParser and hands each report on.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "ktriage/ingest.h"

namespace ktriage {
namespace {

constexpr size_t kChunk = 1 << 20;

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

Error errno_error(const std::string& path, std::string_view what = {}) {
  int e = errno;
  return Error{what.empty() ? fmt::format("{}: {}", path, std::strerror(e))
                            : fmt::format("{}: {}: {}", path, what, std::strerror(e))};
}

bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// Reads [begin, end) back; a short read (file changed underneath) keeps
// what was there.
std::string read_range(int fd, uint64_t begin, uint64_t end) {
  std::string out(end - begin, '\0');
  size_t got = 0;
  while (got < out.size()) {
    ssize_t r = ::pread(fd, out.data() + got, out.size() - got, static_cast<off_t>(begin + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  out.resize(got);
  return out;
}

// One input, start to finish. Returns the bytes read.
Expected<uint64_t> scan_one(const std::string& path, size_t source, const ScanOptions& options,
                            const std::function<void(ScannedReport&&)>& sink, char* buf, size_t& reports) {
  Fd in(path == "-" ? ::dup(STDIN_FILENO) : ::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.fd < 0) return errno_error(path);
  struct stat st {};
  if (::fstat(in.fd, &st) != 0) return errno_error(path);
  if (S_ISDIR(st.st_mode)) return Error{fmt::format("{}: is a directory", path)};
  // Raw bytes come back by offset: from the file itself when it is a
  // regular file, else from a spool copy that vanishes with its descriptor.
  std::optional<Fd> spool;
  int raw_fd = in.fd;
  if (options.raw && !S_ISREG(st.st_mode)) {
    char name[] = "/tmp/ktriage-spool-XXXXXX";
    int fd = ::mkostemp(name, O_CLOEXEC);
    if (fd < 0) return errno_error("/tmp", "cannot spool standard input");
    ::unlink(name);
    spool.emplace(fd);
    raw_fd = fd;
  }
  size_t index = 0;
  LogParser parser(options.parse, [&](Report&& r) {
    ScannedReport s;
    s.source = source;
    s.index = index++;
    if (options.raw) {
      uint64_t begin = r.span.begin, end = std::max(r.span.end, r.span.begin);
      if (end - begin > options.max_raw_bytes) {
        end = begin + options.max_raw_bytes;
        s.raw_cut = true;
      }
      s.raw = read_range(raw_fd, begin, end);
    }
    s.report = std::move(r);
    sink(std::move(s));
  });
  uint64_t total = 0;
  for (;;) {
    if (options.cancel && options.cancel->load(std::memory_order_relaxed)) break;
    ssize_t n = ::read(in.fd, buf, kChunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(path);
    if (n == 0) break;
    if (spool && !write_all(spool->fd, buf, static_cast<size_t>(n)))
      return errno_error("/tmp", "cannot spool standard input");
    total += static_cast<uint64_t>(n);
    parser.feed(std::string_view(buf, static_cast<size_t>(n)));
  }
  parser.finish();
  reports = index;
  return total;
}

}  // namespace

Expected<ScanStats> scan_logs(const std::vector<std::string>& inputs, const ScanOptions& options,
                              const std::function<void(ScannedReport&&)>& sink,
                              const std::function<void(const ScanProgress&)>& progress) {
  unsigned threads = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<size_t>(threads, std::max<size_t>(inputs.size(), 1)));
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;  // guards error, stats, progress
  std::optional<Error> error;
  size_t error_at = SIZE_MAX;
  ScanStats stats;
  ScanProgress p;
  p.inputs = inputs.size();

  auto work = [&] {
    // One read buffer per worker, not per input: most logs are small.
    std::unique_ptr<char[]> buf(new char[kChunk]);
    for (;;) {
      if (failed.load() || (options.cancel && options.cancel->load())) return;
      size_t i = next.fetch_add(1);
      if (i >= inputs.size()) return;
      size_t reports = 0;
      Expected<uint64_t> bytes = scan_one(inputs[i], i, options, sink, buf.get(), reports);
      std::lock_guard lock(mu);
      if (!bytes) {
        // The first failing input in list order is the one reported.
        if (i < error_at) {
          error = bytes.error();
          error_at = i;
        }
        failed = true;
        return;
      }
      ++stats.inputs;
      stats.reports += reports;
      stats.bytes += *bytes;
      p.inputs_done = stats.inputs;
      p.reports = stats.reports;
      p.bytes = stats.bytes;
      if (progress) progress(p);
    }
  };
  {
    std::vector<std::jthread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
  }
  if (error) return *error;
  return stats;
}

}  // namespace ktriage
