// syzkaller-convention titles: format selection, guilty-frame extraction,
// corruption checks, normalisation and crash types. The conventions (which
// format wins, how frames are skipped, what counts as corrupted) follow
// syzkaller's pkg/report so that titles compare equal with syzbot's.
#include "logparse/titles.h"

#include <cxxabi.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <unordered_set>

#include <optional>

#include "logparse/detectors.h"

namespace ktriage::logparse {
namespace {

constexpr std::string_view kNoFrames = "extracted no frames";

// Whether a long text holds `what`: memmem skips ahead where
// string_view::find stops at every occurrence of the first byte (a space).
bool contains(std::string_view text, std::string_view what) {
  return memmem(text.data(), text.size(), what.data(), what.size()) != nullptr;
}

std::vector<std::string_view> split_lines(std::string_view text, size_t max_lines = SIZE_MAX) {
  // Like bytes.Split(text, "\n"): a trailing newline yields a last empty line.
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (out.size() < max_lines) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) {
      out.push_back(text.substr(pos));
      return out;
    }
    out.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

bool matches_any(std::string_view line, const std::vector<std::unique_ptr<RE2>>& res) {
  for (const auto& re : res)
    if (RE2::PartialMatch(line, *re)) return true;
  return false;
}

// Cheap necessary conditions checked before running a regex on every line
// of a trace. Every stack_grammar().frame pattern ends its function name
// with '.' or '+' ({{FUNC}}); every stack_start pattern contains its
// stack_start_literal; every corrupted_line contains corrupted_literal.
struct GrammarNeedles {
  std::vector<Needle> stack_start;
  Needle corrupted;
};
const GrammarNeedles& grammar_needles() {
  static const GrammarNeedles* n = [] {
    const StackGrammar& g = stack_grammar();
    auto* out = new GrammarNeedles{{}, Needle(g.corrupted_literal)};
    for (const std::string& l : g.stack_start_literal) out->stack_start.emplace_back(l);
    return out;
  }();
  return *n;
}
bool may_be_frame(const ScannedLine& line) {
  static constexpr ByteSet kEnds("+.");
  return line.bytes().meets(kEnds);
}
bool may_be_frame(std::string_view line) { return may_be_frame(ScannedLine(line)); }
bool may_start_stack(const ScannedLine& line) {
  for (const Needle& n : grammar_needles().stack_start)
    if (line.has(n)) return true;
  return false;
}
bool is_corrupted_line(const ScannedLine& line) {
  return line.has(grammar_needles().corrupted) && matches_any(line.text(), stack_grammar().corrupted_line);
}

// Captured groups of the leftmost match of `re` in text[from...] (anchored
// there or not); nullopt when no match. Groups that did not take part are
// returned as null views.
std::optional<std::vector<std::string_view>> match_groups(const RE2& re, std::string_view text, size_t from,
                                                          RE2::Anchor anchor, size_t* match_begin) {
  constexpr int kMaxGroups = 16;
  int n = std::min(re.NumberOfCapturingGroups() + 1, kMaxGroups);
  re2::StringPiece groups[kMaxGroups];
  if (!re.Match(text, from, text.size(), anchor, groups, n)) return std::nullopt;
  if (match_begin) *match_begin = static_cast<size_t>(groups[0].data() - text.data());
  std::vector<std::string_view> out;
  for (int i = 1; i < n; ++i)
    out.push_back(groups[i].data() ? std::string_view(groups[i].data(), groups[i].size()) : std::string_view());
  return out;
}

std::optional<std::vector<std::string_view>> submatches(const RE2& re, std::string_view text,
                                                        size_t* match_begin = nullptr) {
  return match_groups(re, text, 0, RE2::UNANCHORED, match_begin);
}

// Rust v0 symbol names (_RNv...), enough of the grammar for kernel frames:
// paths, inherent and trait impls, generic args dropped, back-references.
class RustDemangler {
 public:
  explicit RustDemangler(std::string_view mangled) : s_(mangled.substr(2)) {}
  std::optional<std::string> run() {
    std::string out = path();
    if (!ok_) return std::nullopt;
    return out;
  }

 private:
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  char next() {
    if (pos_ >= s_.size()) {
      ok_ = false;
      return '\0';
    }
    return s_[pos_++];
  }
  uint64_t base62() {
    if (peek() == '_') {
      ++pos_;
      return 0;
    }
    uint64_t x = 0;
    while (ok_ && peek() != '_') {
      char c = next();
      uint64_t v;
      if (c >= '0' && c <= '9') v = static_cast<uint64_t>(c - '0');
      else if (c >= 'a' && c <= 'z') v = static_cast<uint64_t>(c - 'a') + 10;
      else if (c >= 'A' && c <= 'Z') v = static_cast<uint64_t>(c - 'A') + 36;
      else return ok_ = false, 0;
      x = x * 62 + v;  // disambiguators are hashes: wrapping is harmless
    }
    next();
    return x + 1;
  }
  void disambiguator() {
    if (peek() == 's') {
      ++pos_;
      base62();
    }
  }
  std::string ident() {
    if (peek() == 'u') ++pos_;
    size_t len = 0;
    if (!(peek() >= '0' && peek() <= '9')) return ok_ = false, "";
    while (peek() >= '0' && peek() <= '9') {
      len = len * 10 + static_cast<size_t>(next() - '0');
      if (len > s_.size()) return ok_ = false, "";
    }
    if (peek() == '_') ++pos_;
    if (pos_ + len > s_.size()) return ok_ = false, "";
    std::string id(s_.substr(pos_, len));
    pos_ += len;
    return id;
  }
  template <typename F>
  std::string backref(F parse) {
    uint64_t at = base62();
    if (!ok_ || at >= pos_) return ok_ = false, "";
    size_t saved = pos_;
    pos_ = static_cast<size_t>(at);
    std::string out = parse();
    pos_ = saved;
    return out;
  }
  void generic_arg() {
    if (peek() == 'L') {
      ++pos_;
      base62();
    } else if (peek() == 'K') {
      ++pos_;
      type();  // const: type then value; values are rare in kernel frames
    } else {
      type();
    }
  }
  std::string path() {
    if (!ok_ || ++depth_ > 64) return ok_ = false, "";
    std::string out;
    switch (next()) {
      case 'C':
        disambiguator();
        out = ident();
        break;
      case 'N': {
        char ns = next();
        std::string parent = path();
        disambiguator();
        std::string id = ident();
        if (ns >= 'A' && ns <= 'Z') out = parent + "::{" + (ns == 'C' ? "closure" : std::string(1, ns)) + "}";
        else out = id.empty() ? parent : parent + "::" + id;
        break;
      }
      case 'M':
        disambiguator();
        path();
        out = "<" + type() + ">";
        break;
      case 'X': {
        disambiguator();
        path();
        std::string t = type();
        out = "<" + t + " as " + path() + ">";
        break;
      }
      case 'Y': {
        std::string t = type();
        out = "<" + t + " as " + path() + ">";
        break;
      }
      case 'I':
        out = path();
        while (ok_ && peek() != 'E') generic_arg();
        next();
        break;
      case 'B':
        out = backref([this] { return path(); });
        break;
      default:
        ok_ = false;
    }
    --depth_;
    return out;
  }
  std::string type() {
    static constexpr std::string_view kBasic[26] = {
        "i8", "bool", "char", "f64", "str", "f32", "", "u8", "isize", "usize", "", "i32", "u32",
        "i128", "u128", "_", "", "", "i16", "u16", "()", "...", "", "i64", "u64", "!"};
    char c = peek();
    if (c >= 'a' && c <= 'z' && !kBasic[c - 'a'].empty()) {
      ++pos_;
      return std::string(kBasic[c - 'a']);
    }
    if (!ok_ || ++depth_ > 64) return ok_ = false, "";
    std::string out;
    switch (c) {
      case 'R':
      case 'Q':
        ++pos_;
        if (peek() == 'L') {
          ++pos_;
          base62();
        }
        out = (c == 'R' ? "&" : "&mut ") + type();
        break;
      case 'P':
      case 'O':
        ++pos_;
        out = (c == 'P' ? "*const " : "*mut ") + type();
        break;
      case 'S':
        ++pos_;
        out = "[" + type() + "]";
        break;
      case 'A':
        ++pos_;
        out = "[" + type() + "; _]";
        generic_arg();
        break;
      case 'T':
        ++pos_;
        out = "(";
        while (ok_ && peek() != 'E') out += type() + ",";
        next();
        out += ")";
        break;
      case 'B':
        ++pos_;
        out = backref([this] { return type(); });
        break;
      default:
        out = path();
    }
    --depth_;
    return out;
  }

  std::string_view s_;
  size_t pos_ = 0;
  int depth_ = 0;
  bool ok_ = true;
};

// C++ and Rust symbol names as a human writes them, without parameters.
std::string demangle(std::string_view name) {
  if (name.starts_with("_R")) {
    if (auto d = RustDemangler(name).run(); d && !d->empty()) return *d;
    return std::string(name);
  }
  if (!name.starts_with("_Z")) return std::string(name);
  std::string mangled(name);
  int status = 0;
  char* out = abi::__cxa_demangle(mangled.c_str(), nullptr, nullptr, &status);
  if (status != 0 || !out) return mangled;
  std::string d(out);
  std::free(out);
  if (!d.empty() && d.back() == ')') {
    int level = 0;
    for (size_t i = d.size(); i-- > 0;) {
      if (d[i] == ')') ++level;
      else if (d[i] == '(' && --level == 0) {
        d.resize(i);
        break;
      }
    }
  }
  return d;
}

// Like submatches(), for patterns that begin with `literal`: every match
// starts at an occurrence of it, so try anchored matches there instead of
// scanning the whole text with each pattern.
std::optional<std::vector<std::string_view>> submatches_at(const RE2& re, std::string_view text,
                                                           std::string_view literal,
                                                           size_t* match_begin) {
  if (literal.empty()) return submatches(re, text, match_begin);
  for (size_t at = text.find(literal); at != std::string_view::npos; at = text.find(literal, at + 1))
    if (auto groups = match_groups(re, text, at, RE2::ANCHOR_START, match_begin)) return groups;
  return std::nullopt;
}

void append_frame(std::vector<std::string>& frames, std::string_view name, const StackSpec& spec) {
  std::string frame = demangle(name);
  if (!spec.skips(frame)) frames.push_back(std::move(frame));
}

void append_frames(std::vector<std::string>& frames, const LazyRE2& part, const ScannedLine& line,
                   const StackSpec& spec, bool* matched) {
  *matched = false;
  if (!part.may_match(line)) return;
  auto groups = submatches(*part, line.text());
  *matched = groups.has_value();
  if (!groups) return;
  for (std::string_view g : *groups)
    if (g.data() != nullptr) append_frame(frames, g, spec);
}

std::string strip_syscall_prefix(const std::string& frame) {
  std::string best = frame;
  for (const std::string& p : stack_grammar().strip_prefixes)
    if (frame.starts_with(p) && frame.size() - p.size() < best.size()) best = frame.substr(p.size());
  return best;
}

// Frames that mark where the interesting part of a stalled stack ends:
// syscall, workqueue, softirq, timer and kthread entry points. One
// alternation: a frame is an anchor when any of them matches.
const RE2& stall_anchor() {
  static const RE2* anchor = [] {
    std::string any;
    for (std::string_view p : {
             "process_one_work", "do_syscall_", "do_fast_syscall_", "sysenter_dispatch",
             "tracesys_phase2", "el0_svc_handler", "invoke_syscall", "ret_fast_syscall",
             "netif_receive_skb", "do_softirq", "call_timer_fn", "_run_timers",
             "run_timer_softirq", "hrtimer_run", "run_ksoftirqd", "smpboot_thread_fn",
             "^kthread$", "start_secondary", "cpu_startup_entry", "ret_from_fork",
             "vfs_write", "vfs_read", "vfs_iter_read", "vfs_iter_write", "do_iter_read",
             "do_iter_write", "call_read_iter", "call_write_iter", "new_sync_read",
             "new_sync_write", "vfs_ioctl", "ksys_ioctl", "compat_ioctl", "compat_sys_ioctl",
             "blkdev_driver_ioctl", "blkdev_ioctl", "do_iter_readv_writev", "^call_mmap",
             "mmap_region", "do_mmap", "do_dentry_open", "vfs_open", "^sock_sendmsg",
             "^sock_recvmsg", "^sock_release", "^__sock_release", "^setsockopt$",
             "kernel_setsockopt", "sock_common_setsockopt", "^listen$", "kernel_listen",
             "sk_common_release", "^sock_mmap", "^accept$", "kernel_accept", "^sock_do_ioctl",
             "^sock_ioctl", "^compat_sock_ioctl", "^nfnetlink_rcv_msg", "^rtnetlink_rcv_msg",
             "^netlink_dump", "^(sys_)?(socketpair|connect|ioctl)", "__do_fault",
             "do_page_fault", "^page_fault$", "__fput", "task_work_run", "exit_to_usermode",
             "smp_call_function", "tasklet_action", "tasklet_hi_action"}) {
      if (!any.empty()) any.push_back('|');
      any.append("(?:").append(p).append(")");
    }
    return compile_pattern(any).release();
  }();
  return *anchor;
}

// Returns the chosen frame's index in `frames`, or -1.
int choose_frame(FrameChooser chooser, const std::vector<std::string>& frames, std::string* out) {
  if (frames.empty()) return -1;
  switch (chooser) {
    case FrameChooser::first:
      *out = frames[0];
      return 0;
    case FrameChooser::stall: {
      std::string prev = frames[0];
      int prev_idx = 0;
      for (size_t i = 0; i < frames.size(); ++i) {
        if (RE2::PartialMatch(frames[i], stall_anchor())) {
          if (frames[i].find("smp_call_function") != std::string::npos) {
            prev = "smp_call_function";
            prev_idx = static_cast<int>(i);
          }
          *out = prev;
          return prev_idx;
        }
        prev = frames[i];
        prev_idx = static_cast<int>(i);
      }
      return -1;
    }
    case FrameChooser::hung_task: {
      static const std::pair<std::string_view, std::string_view> anchors[] = {
          {"rtnl_lock", ""},
          {"synchronize_rcu", "synchronize_rcu"},
          {"synchronize_srcu", "synchronize_rcu"},
          {"synchronize_net", "synchronize_rcu"},
          {"synchronize_sched", "synchronize_rcu"},
      };
      for (size_t i = 0; i < frames.size(); ++i)
        for (const auto& [anchor, replacement] : anchors)
          if (frames[i].find(anchor) != std::string::npos) {
            *out = replacement.empty() ? frames[i] : std::string(replacement);
            return static_cast<int>(i);
          }
      static const std::string_view waiting[] = {
          "sched", "_lock", "_slowlock", "down", "rwsem", "completion", "kthread", "wait",
          "synchronize", "context_switch", "__switch_to", "cancel_delayed_work", "rcu_barrier"};
      for (size_t i = 0; i < frames.size(); ++i) {
        bool skip = std::any_of(std::begin(waiting), std::end(waiting), [&](std::string_view w) {
          return frames[i].find(w) != std::string::npos;
        });
        if (!skip) {
          *out = frames[i];
          return static_cast<int>(i);
        }
      }
      return -1;
    }
  }
  return -1;
}

struct KeyFrame {
  std::string canonical;  // syscall prefixes stripped
  std::string raw;
};

KeyFrame key_frame(const StackSpec& spec, const std::vector<std::string>& raw) {
  if (raw.empty()) return {};
  std::vector<std::string> stripped;
  stripped.reserve(raw.size());
  for (const auto& f : raw) stripped.push_back(strip_syscall_prefix(f));
  std::string chosen;
  int idx = choose_frame(spec.chooser, stripped, &chosen);
  if (idx < 0 || chosen.empty()) return {};
  return {chosen, raw[static_cast<size_t>(idx)]};
}

bool extract_frames_with(const StackSpec& spec, const std::vector<const LazyRE2*>& parts,
                         std::string_view text, std::vector<KeyFrame>& results) {
  const StackGrammar& g = stack_grammar();
  std::vector<std::string_view> lines = split_lines(text);
  size_t li = 0;
  std::vector<std::string> raw;
  bool ok = true;
  int traces = 0;
  for (size_t pi = 0;; ++pi) {
    if (pi == parts.size() || (parts[pi] == nullptr && traces > 0)) {
      KeyFrame k = key_frame(spec, raw);
      if (k.canonical.empty()) {
        k = {"corrupted", "corrupted"};
        ok = false;
      }
      results.push_back(std::move(k));
      raw.clear();
    }
    if (pi == parts.size()) break;
    if (parts[pi] == nullptr) {
      ++traces;
      // Past the first usable frame of the last trace, only the lines that
      // end the trace or mark the report corrupted still matter.
      bool last = pi + 1 == parts.size() && spec.chooser == FrameChooser::first;
      while (li < lines.size()) {
        ScannedLine line(lines[li++]);
        if (is_corrupted_line(line)) {
          ok = false;
          break;
        }
        if (may_start_stack(line) && RE2::PartialMatch(line.text(), *g.any_stack_start)) break;
        if (last && !raw.empty()) continue;
        if (pi + 1 < parts.size() && parts[pi + 1] != nullptr) {
          bool matched = false;
          append_frames(raw, *parts[pi + 1], line, spec, &matched);
          if (matched) {
            ++pi;
            break;
          }
        }
        if (!may_be_frame(line)) continue;
        FrameNames f = frame_names(line.text());
        for (int k = 0; k < f.count; ++k) append_frame(raw, f.name[k], spec);
      }
    } else {
      while (li < lines.size()) {
        ScannedLine line(lines[li++]);
        if (is_corrupted_line(line)) {
          ok = false;
          break;
        }
        bool matched = false;
        append_frames(raw, *parts[pi], line, spec, &matched);
        if (matched) break;
      }
    }
  }
  return ok;
}

bool extract_frames(const StackSpec& spec, std::string_view text, std::vector<KeyFrame>& out) {
  bool ok = extract_frames_with(spec, spec.parts, text, out);
  if (ok || spec.parts2.empty()) return ok;
  out.clear();
  return extract_frames_with(spec, spec.parts2, text, out);
}

std::string format_title(std::string_view fmt, const std::vector<std::string>& args) {
  std::string out;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] == '{' && i + 2 < fmt.size() && fmt[i + 2] == '}' && fmt[i + 1] >= '1' &&
        fmt[i + 1] <= '9') {
      size_t n = static_cast<size_t>(fmt[i + 1] - '1');
      if (n < args.size()) out += args[n];
      i += 2;
      continue;
    }
    out += fmt[i];
  }
  return out;
}

void unique_in_place(std::vector<std::string>& v) {
  std::unordered_set<std::string> seen;
  std::vector<std::string> out;
  for (auto& s : v)
    if (seen.insert(s).second) out.push_back(std::move(s));
  v = std::move(out);
}

struct Description {
  std::string title;
  std::string corrupted;
  std::vector<std::string> alts;
  const TitleFormat* format = nullptr;
};

// Like submatches_at() for a title format: its literal starts with the
// detector's header, so its matches start at some of `header_at`, the
// header's occurrences, found once for all the detector's formats.
std::optional<std::vector<std::string_view>> title_match(const TitleFormat& f, std::string_view text,
                                                         const std::vector<size_t>& header_at, size_t* match_begin) {
  if (f.title_literal.empty()) return submatches(*f.title, text, match_begin);
  for (size_t at : header_at) {
    if (text.compare(at, f.title_literal.size(), f.title_literal) != 0) continue;
    if (auto groups = match_groups(*f.title, text, at, RE2::ANCHOR_START, match_begin)) return groups;
  }
  return std::nullopt;
}

Description describe(const Detector& det, std::string_view text) {
  Description d;
  size_t start = text.size();
  bool matched_title = false;
  std::vector<size_t> header_at;
  for (size_t at = text.find(det.header); at != std::string_view::npos; at = text.find(det.header, at + 1))
    header_at.push_back(at);
  for (const TitleFormat& f : det.formats) {
    size_t pos = 0;
    auto groups = title_match(f, text, header_at, &pos);
    if (!groups || pos > start) continue;
    if (pos == start && !d.title.empty()) continue;
    if (pos < start) {
      d.title.clear();
      d.format = nullptr;
      start = pos;
    }
    matched_title = true;
    size_t from = pos;
    if (f.report) {
      groups = submatches_at(*f.report, text, f.report_literal, &from);
      if (!groups) continue;
    }
    std::vector<std::string> prefix;
    for (std::string_view g : *groups) prefix.emplace_back(g);
    std::vector<KeyFrame> frames;
    d.corrupted.clear();
    if (f.stack && !extract_frames(*f.stack, text.substr(from), frames))
      d.corrupted = std::string(kNoFrames);
    std::vector<std::string> args = prefix;
    for (const auto& k : frames) args.push_back(k.canonical);
    d.title = format_title(f.fmt, args);
    for (const auto& alt : f.alt) d.alts.push_back(format_title(alt, args));
    // Titles with syscall-wrapper prefixes left on, for deduplication.
    const auto& prefixes = stack_grammar().strip_prefixes;
    for (size_t i = 0; i <= prefixes.size(); ++i) {
      std::string_view strip = i ? std::string_view(prefixes[i - 1]) : std::string_view();
      bool add = i == 0;
      std::vector<std::string> seq = prefix;
      for (const auto& k : frames) {
        std::string_view r = k.raw;
        if (!strip.empty() && r.starts_with(strip)) {
          r.remove_prefix(strip.size());
          add = true;
        }
        seq.emplace_back(r);
      }
      if (!add) continue;
      std::string alt_title = format_title(f.fmt, seq);
      if (alt_title != d.title) d.alts.push_back(alt_title);
      for (const auto& alt : f.alt) d.alts.push_back(format_title(alt, seq));
    }
    unique_in_place(d.alts);
    d.format = &f;
  }
  if (d.title.empty()) {
    if (matched_title) d.corrupted = "matched title but not report regexp";
    size_t pos = text.find(det.header);
    if (pos == std::string_view::npos) return d;
    size_t end = text.find('\n', pos);
    d.title = std::string(text.substr(pos, end == std::string_view::npos ? end : end - pos));
  }
  if (d.corrupted.empty() && d.format && d.format->corrupted)
    d.corrupted = "report format is marked as corrupted";
  return d;
}

std::string corruption_of(std::string_view title, std::string_view report, const TitleFormat* format) {
  static const RE2 timestamp_in_title(R"(\[ *[0-9]+\.[0-9]+\])", RE2::Latin1);
  if (RE2::PartialMatch(title, timestamp_in_title)) return "title matches corrupted regexp";
  if (!format || format->no_stack_trace) return "";
  const StackGrammar& g = stack_grammar();
  bool has_trace = false;
  for (size_t k = 0; k < g.stack_start.size(); ++k) {
    const auto& key = g.stack_start[k];
    re2::StringPiece start;
    if (!contains(report, g.stack_start_literal[k]) ||
        !key->Match(report, 0, report.size(), RE2::UNANCHORED, &start, 1))
      continue;
    size_t at = static_cast<size_t>(start.data() - report.data());
    std::vector<std::string_view> lines = split_lines(report.substr(at), 16);
    if (lines.size() < 4) return "call trace is missed";
    bool corrupted = true;
    for (size_t i = 1; i < lines.size() && i <= 15; ++i) {
      if (matches_any(lines[i], g.stack_start)) break;
      bool frame = lines[i].find("(stack is not available)") != std::string_view::npos;
      frame = frame || (may_be_frame(lines[i]) && frame_names(lines[i]).count > 0);
      if (frame) {
        has_trace = true;
        corrupted = false;
        break;
      }
    }
    if (key.get() != g.riscv_stack_start && corrupted) return "no frames in a stack trace";
  }
  if (!has_trace) return "no stack trace in report";
  return "";
}

struct Replacement {
  std::unique_ptr<RE2> re;
  std::string rewrite;
};

const std::vector<Replacement>& replacements() {
  static const auto* table = [] {
    auto* v = new std::vector<Replacement>;
    auto add = [&](std::string_view re, std::string_view rewrite) {
      v->push_back({std::make_unique<RE2>(re, RE2::Latin1), std::string(rewrite)});
    };
    add(R"(syz-executor\.?[0-9]+((/|:)[0-9]+)?)", "syz-executor");  // executor pids
    add(R"(syzkaller[0-9]+((/|:)[0-9]+)?)", "syzkaller");
    add(R"(([^a-zA-Z0-9])(?:0x)?[0-9a-f]{6,})", R"(\1ADDR)");       // addresses
    add(R"(([0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}))", "IP");
    add(R"((\.\w+)(:[0-9]+)+)", R"(\1:LINE)");                       // file.c:123
    add(R"(([a-zA-Z][a-zA-Z0-9_.]+)\+0x[0-9a-z]+/0x[0-9a-z]+)", R"(\1)");
    add(R"(CPU#[0-9]+)", "CPU");
    add(R"((\W)(\d+)(\W|$))", R"(\1NUM\3)");                          // other numbers
    add(R"((\d+){7,})", "NUM");
    return v;
  }();
  return *table;
}

}  // namespace

std::string normalize_title(std::string_view title) {
  std::string s(title.substr(0, std::min<size_t>(title.size(), 64 * 1024)));
  for (const auto& r : replacements()) {
    // Matches can overlap ("0,1,2"): repeat until nothing changes.
    for (int round = 0; round < 64; ++round)
      if (RE2::GlobalReplace(&s, *r.re, r.rewrite) == 0) break;
  }
  constexpr size_t kMaxTitle = 120;
  std::string out;
  char prev = ' ';
  for (size_t i = 0; i < s.size() && i < kMaxTitle; ++i) {
    char ch = s[i];
    auto u = static_cast<unsigned char>(ch);
    if (ch == '\t') ch = ' ';
    else if (u < 0x20 || u >= 0x7f) continue;
    if (ch == ' ' && prev == ' ') continue;
    out += ch;
    prev = ch;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

TitleResult make_title(const Detector& detector, std::string_view title_text,
                       std::string_view full_text) {
  TitleResult r;
  Description d = describe(detector, title_text);
  if (d.title.empty()) d = describe(detector, full_text);
  r.type = std::string(crash_type(detector, d.title));
  r.corrupted_reason = d.corrupted;
  if (r.corrupted_reason.empty()) r.corrupted_reason = corruption_of(d.title, full_text, d.format);
  r.corrupted = !r.corrupted_reason.empty();
  r.no_stack_trace = d.format && d.format->no_stack_trace;
  r.title = normalize_title(d.title);
  for (const auto& alt : d.alts) r.alt_titles.push_back(normalize_title(alt));
  static const RE2 frame_in_title(R"(.* in ((?:<[a-zA-Z0-9_: ]+>)?[a-zA-Z0-9_:]+))", RE2::Latin1);
  std::string frame;
  if (RE2::PartialMatch(r.title, frame_in_title, &frame)) r.frame = frame;
  return r;
}

}  // namespace ktriage::logparse
