// LogParser throughput on one core.
//
// Two modes:
//
//   parse_bench [--benchmark_...]        Google Benchmark over an in-memory
//       input: $KTRIAGE_BENCH_INPUT (its first 64 MiB) when set, else a log
//       synthesised from examples/ and filler lines. Fed in 1 MiB chunks to a
//       LogParser whose Sink only counts reports.
//
//   parse_bench --stream FILE [--chunk BYTES]
//       Streams FILE (any size) through one LogParser in 1 MiB reads, the way
//       the CLI does, and prints one JSON line: bytes, seconds, MB/s, reports.
//       Memory stays flat whatever the file size; scripts/bench-parse.sh runs
//       it under /usr/bin/time -v to check peak RSS.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <benchmark/benchmark.h>

#include "ktriage/logparse.h"

namespace {

constexpr size_t kChunk = 1 << 20;

std::string read_prefix(const char* path, size_t limit) {
  std::ifstream in(path, std::ios::binary);
  std::string data(limit, '\0');
  in.read(data.data(), static_cast<std::streamsize>(limit));
  data.resize(static_cast<size_t>(in.gcount()));
  return data;
}

// examples/*.log between runs of ordinary dmesg lines, ~1 report per 256 KiB.
std::string synthesise(size_t size) {
  std::string crash = read_prefix(KTRIAGE_SOURCE_DIR "/examples/xfs-panic.log", 1 << 20);
  static const char* const kFiller[] = {
      "e1000e 0000:00:19.0 eth0: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx",
      "audit: type=1400 audit(1700000112.113:59): apparmor=\"STATUS\" operation=\"profile_load\" "
      "profile=\"unconfined\" name=\"/usr/bin/man\" pid=912 comm=\"apparmor_parser\"",
      "systemd[1]: Started Journal Service.",
      "usb 1-1.3: new high-speed USB device number 3 using ehci-pci",
      "EXT4-fs (sda1): mounted filesystem with ordered data mode. Opts: (null)",
      "[UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56 SRC=10.0.3.1 DST=10.0.0.2 LEN=40 PROTO=TCP DPT=22",
  };
  std::string out;
  out.reserve(size + crash.size());
  double ts = 1.0;
  size_t next_crash = 256 << 10;
  unsigned i = 0;
  char prefix[32];
  while (out.size() < size) {
    ts += 0.000731;
    std::snprintf(prefix, sizeof prefix, "[%12.6f] ", ts);
    out += prefix;
    out += kFiller[i++ % std::size(kFiller)];
    out += '\n';
    if (out.size() >= next_crash) {
      out += crash;
      next_crash = out.size() + (256 << 10);
    }
  }
  return out;
}

const std::string& bench_input() {
  static const std::string input = [] {
    if (const char* path = std::getenv("KTRIAGE_BENCH_INPUT")) return read_prefix(path, 64 << 20);
    return synthesise(32 << 20);
  }();
  return input;
}

void BM_LogParserFeed(benchmark::State& state) {
  const std::string& input = bench_input();
  const size_t chunk = static_cast<size_t>(state.range(0));
  size_t reports = 0;
  for (auto _ : state) {
    ktriage::LogParser parser({}, [&](ktriage::Report&& r) {
      benchmark::DoNotOptimize(r);
      ++reports;
    });
    std::string_view rest = input;
    while (!rest.empty()) {
      size_t n = std::min(chunk, rest.size());
      parser.feed(rest.substr(0, n));
      rest.remove_prefix(n);
    }
    parser.finish();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(input.size()));
  state.counters["reports"] = benchmark::Counter(static_cast<double>(reports) / static_cast<double>(state.iterations()));
}
BENCHMARK(BM_LogParserFeed)->Arg(kChunk)->Arg(4096)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_ParseLogInMemory(benchmark::State& state) {
  const std::string& input = bench_input();
  for (auto _ : state) {
    std::vector<ktriage::Report> reports = ktriage::parse_log(input);
    benchmark::DoNotOptimize(reports);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(input.size()));
}
BENCHMARK(BM_ParseLogInMemory)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// --stream FILE: read(2) in fixed chunks, so RSS does not grow with the file.
int stream(const char* path, size_t chunk) {
  int fd = std::strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    std::fprintf(stderr, "parse_bench: %s: %s\n", path, std::strerror(errno));
    return 2;
  }
  posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  std::vector<char> buf(chunk);
  uint64_t bytes = 0;
  uint64_t reports = 0;
  uint64_t frames = 0;
  uint64_t corrupted = 0;
  auto start = std::chrono::steady_clock::now();
  {
    ktriage::LogParser parser({}, [&](ktriage::Report&& r) {
      ++reports;
      frames += r.frames.size();
      corrupted += r.corrupted;
    });
    for (;;) {
      ssize_t n = read(fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        std::fprintf(stderr, "parse_bench: %s: %s\n", path, std::strerror(errno));
        return 2;
      }
      if (n == 0) break;
      parser.feed(std::string_view(buf.data(), static_cast<size_t>(n)));
      bytes += static_cast<uint64_t>(n);
    }
    parser.finish();
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (fd != STDIN_FILENO) close(fd);
  std::printf(
      "{\"bytes\": %llu, \"seconds\": %.3f, \"mb_per_s\": %.1f, \"reports\": %llu, \"frames\": %llu, "
      "\"corrupted\": %llu}\n",
      static_cast<unsigned long long>(bytes), seconds, seconds > 0 ? static_cast<double>(bytes) / 1e6 / seconds : 0.0,
      static_cast<unsigned long long>(reports), static_cast<unsigned long long>(frames),
      static_cast<unsigned long long>(corrupted));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--stream") == 0) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "usage: parse_bench --stream FILE [--chunk BYTES]\n");
        return 2;
      }
      size_t chunk = kChunk;
      if (i + 3 < argc && std::strcmp(argv[i + 2], "--chunk") == 0) {
        chunk = std::max<size_t>(1, std::strtoull(argv[i + 3], nullptr, 0));
      }
      return stream(argv[i + 1], chunk);
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
