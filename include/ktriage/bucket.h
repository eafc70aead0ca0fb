// Crash signatures and buckets: which reports are the same bug.
//
// A report's signature is its syzkaller-compatible title plus its guilty
// frames, normalized so that the same bug reads the same on every machine
// and build: compiler suffixes (.isra.N, .constprop.N, .part.N, .cold) and
// offsets are dropped, frames that only report a crash (dump_stack,
// warn_slowpath_*, kasan_report, panic, ...) are never guilty, inline frames
// count like any other, and the module stays. A crash in core code whose
// trace runs through an out-of-tree or proprietary module ("wl(PO)" in
// "Modules linked in:") is its own bucket: the signature names that module.
// Reports with equal signatures share a bucket; its id is the first 16 hex
// digits of the signature's SHA-256, stable across runs, machines and
// releases of ktriage as long as the rules do not change.
//
// The rules are data (data/signature-rules.toml, docs in that file); this
// library does no I/O:
//
//   Expected<SignatureRules> rulesOrErr = SignatureRules::parse(toml_text, "rules.toml");
//   Signature s = sign(report, *rulesOrErr);
//   s.id();    // "3f9c0a51d2e47b18"
//   s.text();  // "WARNING in xfrm_state_fini | xfrm_state_fini"
//
//   Bucketer b(*rulesOrErr);
//   b.add({.source = 0, .index = 0}, report);   // for every report
//   for (const Bucket& bucket : b.buckets()) ... // biggest first
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ktriage/error.h"
#include "ktriage/report.h"

namespace ktriage {

// How signatures are built; loaded from TOML (data/signature-rules.toml).
class SignatureRules {
 public:
  SignatureRules();
  ~SignatureRules();
  SignatureRules(SignatureRules&&) noexcept;
  SignatureRules& operator=(SignatureRules&&) noexcept;

  // Errors name the document, line and key: "rules.toml:12:3: skip.functions[4]: ...".
  static Expected<SignatureRules> parse(std::string_view toml, std::string_view name);

  // A function name as a signature keeps it: compiler suffixes stripped.
  std::string normalize_function(std::string_view function) const;
  // True for frames that only report a crash (never guilty).
  bool skipped(std::string_view normalized_function) const;
  // Module taint flags that mark a module out-of-tree/proprietary ("OPE").
  bool out_of_tree(std::string_view module_flags) const;

  size_t frames() const;                 // guilty frames in a signature
  size_t frames_when_corrupted() const;  // ... of a report flagged corrupted
  size_t max_title() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// The shipped rules file: $KTRIAGE_SIGNATURE_RULES when set, else the one
// in the data/ directory this build was configured with.
std::filesystem::path default_signature_rules_path();

struct SignatureFrame {
  std::string function;  // normalized
  std::string module;    // "" for the core kernel
  bool operator==(const SignatureFrame&) const = default;
};

struct Signature {
  std::string title;                   // normalized title
  std::vector<SignatureFrame> frames;  // guilty frames, innermost first
  // Out-of-tree modules the trace runs through while the guilty frame is in
  // core code, as printed in "Modules linked in:" ("wl(PO)"); sorted.
  std::vector<std::string> tainted_by;

  // Canonical one-line form, what the id hashes:
  //   "kernel BUG in wdev_priv | wdev_priv | tainted by wl(PO)"
  std::string text() const;
  // 16 hex digits: the first 8 bytes of SHA-256(text()).
  std::string id() const;
  bool operator==(const Signature&) const = default;
};

Signature sign(const Report& report, const SignatureRules& rules);

// 64 hex digits of SHA-256(bytes).
std::string sha256_hex(std::string_view bytes);

// Where a report came from: the input's position in the caller's list, and
// the report's position in that input's reports (as `ktriage analyze --json`
// lists them).
struct ReportRef {
  size_t source = 0;
  size_t index = 0;
};

struct BucketMember {
  ReportRef ref;
  std::string title;  // the report's own title
  uint32_t line = 0;  // first line of the report in its source
};

struct Bucket {
  std::string id;
  Signature signature;
  std::string title;                  // the first member's title
  std::vector<std::string> kernels;   // distinct kernel releases, sorted; "" left out
  std::vector<BucketMember> members;  // in (source, index) order
};

// Groups reports by signature. Not thread-safe; feed it from one thread (or
// compute signatures in parallel and use add(ref, signature, report)).
class Bucketer {
 public:
  explicit Bucketer(const SignatureRules& rules) : rules_(rules) {}

  void add(const ReportRef& ref, const Report& report);
  // With the signature already computed (in parallel, say).
  void add(Signature signature, BucketMember member, std::string_view kernel_release);

  // Biggest first; ties by the first member's position, so the order is the
  // same whatever order reports were added in.
  std::vector<Bucket> buckets() const;

 private:
  const SignatureRules& rules_;
  std::vector<Bucket> buckets_;
  std::unordered_map<std::string, size_t> index_;  // id -> position in buckets_
};

}  // namespace ktriage
