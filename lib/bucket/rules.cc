// Signature rules from TOML (data/signature-rules.toml). Strict: an unknown
// key or a pattern RE2 rejects is an error naming the line, so a typo cannot
// quietly turn a rule off.
#include <re2/re2.h>

#include <cstdlib>
#include <toml++/toml.h>

#include <fmt/format.h>

#include <algorithm>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "bucket/rules_impl.h"
#include "ktriage/bucket.h"

namespace ktriage {
namespace {

struct RulesError {
  std::string message;
};

class Reader {
 public:
  explicit Reader(std::string_view name) : name_(name) {}

  [[noreturn]] void fail(const toml::source_region& at, std::string_view key, std::string_view what) const {
    throw RulesError{fmt::format("{}:{}:{}: {}: {}", name_, at.begin.line, at.begin.column, key, what)};
  }

  void check_keys(const toml::table& t, std::string_view where, std::initializer_list<std::string_view> known) const {
    for (const auto& [key, node] : t) {
      if (std::find(known.begin(), known.end(), key.str()) == known.end())
        fail(node.source(), fmt::format("{}{}", where.empty() ? "" : fmt::format("{}.", where), key.str()),
             "unknown key");
    }
  }

  const toml::table* table(const toml::table& root, std::string_view key) const {
    const toml::node* n = root.get(key);
    if (!n) return nullptr;
    if (!n->is_table()) fail(n->source(), key, "expected a table");
    return n->as_table();
  }

  std::optional<size_t> count(const toml::table* t, std::string_view where, std::string_view key, size_t max) const {
    if (!t) return std::nullopt;
    const toml::node* n = t->get(key);
    if (!n) return std::nullopt;
    std::optional<int64_t> v = n->value<int64_t>();
    if (!v || *v < 0 || static_cast<uint64_t>(*v) > max)
      fail(n->source(), fmt::format("{}.{}", where, key), fmt::format("expected an integer from 0 to {}", max));
    return static_cast<size_t>(*v);
  }

  std::vector<std::unique_ptr<RE2>> patterns(const toml::table* t, std::string_view where, std::string_view key,
                                             bool anchor_end) const {
    std::vector<std::unique_ptr<RE2>> out;
    if (!t) return out;
    const toml::node* n = t->get(key);
    if (!n) return out;
    const toml::array* a = n->as_array();
    if (!a) fail(n->source(), fmt::format("{}.{}", where, key), "expected an array of strings");
    RE2::Options options;
    options.set_log_errors(false);
    options.set_max_mem(1 << 20);
    for (size_t i = 0; i < a->size(); ++i) {
      const toml::node& item = *a->get(i);
      std::optional<std::string> s = item.value<std::string>();
      std::string name = fmt::format("{}.{}[{}]", where, key, i);
      if (!s || s->empty()) fail(item.source(), name, "expected a non-empty string");
      // Suffixes are anchored at the end and captured whole; skip patterns
      // are matched in full.
      std::string pattern = anchor_end ? fmt::format("((?:{}))$", *s) : *s;
      auto re = std::make_unique<RE2>(pattern, options);
      if (!re->ok()) fail(item.source(), name, fmt::format("bad pattern: {}", re->error()));
      out.push_back(std::move(re));
    }
    return out;
  }

 private:
  std::string_view name_;
};

}  // namespace

SignatureRules::SignatureRules() : impl_(std::make_unique<Impl>()) {}
SignatureRules::~SignatureRules() = default;
SignatureRules::SignatureRules(SignatureRules&&) noexcept = default;
SignatureRules& SignatureRules::operator=(SignatureRules&&) noexcept = default;

Expected<SignatureRules> SignatureRules::parse(std::string_view text, std::string_view name) {
  Reader reader(name);
  SignatureRules rules;
  Impl& r = *rules.impl_;
  try {
    toml::table root;
    try {
      root = toml::parse(text, name);
    } catch (const toml::parse_error& e) {
      return Error{
          fmt::format("{}:{}:{}: syntax: {}", name, e.source().begin.line, e.source().begin.column, e.description())};
    }
    reader.check_keys(root, "", {"version", "signature", "normalize", "skip", "taint"});
    if (const toml::node* v = root.get("version"); !v || v->value<int64_t>() != 1)
      reader.fail(v ? v->source() : toml::source_region{}, "version", "expected version = 1");

    const toml::table* sig = reader.table(root, "signature");
    if (sig) reader.check_keys(*sig, "signature", {"frames", "frames_when_corrupted", "max_title"});
    r.frames = reader.count(sig, "signature", "frames", 16).value_or(r.frames);
    r.frames_when_corrupted =
        reader.count(sig, "signature", "frames_when_corrupted", 16).value_or(r.frames_when_corrupted);
    r.max_title = reader.count(sig, "signature", "max_title", 4096).value_or(r.max_title);

    const toml::table* norm = reader.table(root, "normalize");
    if (norm) reader.check_keys(*norm, "normalize", {"function_suffixes"});
    r.suffixes = reader.patterns(norm, "normalize", "function_suffixes", true);

    const toml::table* skip = reader.table(root, "skip");
    if (skip) reader.check_keys(*skip, "skip", {"functions"});
    std::vector<std::unique_ptr<RE2>> each = reader.patterns(skip, "skip", "functions", false);
    // One alternation: a frame is tested once, not once per pattern.
    if (!each.empty()) {
      std::string all;
      for (const auto& re : each) all += fmt::format("{}(?:{})", all.empty() ? "" : "|", re->pattern());
      RE2::Options options;
      options.set_log_errors(false);
      options.set_max_mem(8 << 20);
      r.skip = std::make_unique<RE2>(all, options);
      if (!r.skip->ok())
        return Error{fmt::format("{}: skip.functions: too many patterns together: {}", name, r.skip->error())};
    }

    const toml::table* taint = reader.table(root, "taint");
    if (taint) {
      reader.check_keys(*taint, "taint", {"out_of_tree_flags"});
      if (const toml::node* n = taint->get("out_of_tree_flags")) {
        std::optional<std::string> s = n->value<std::string>();
        if (!s || !std::all_of(s->begin(), s->end(), [](char c) { return c >= 'A' && c <= 'Z'; }))
          reader.fail(n->source(), "taint.out_of_tree_flags", "expected a string of taint letters (\"POE\")");
        r.out_of_tree_flags = *s;
      }
    }
  } catch (const RulesError& e) {
    return Error{e.message};
  }
  return rules;
}

std::string SignatureRules::normalize_function(std::string_view function) const {
  std::string_view f = function;
  for (bool again = true; again;) {
    again = false;
    for (const auto& re : impl_->suffixes) {
      re2::StringPiece suffix;
      // Never strip a whole name: ".cold" alone stays ".cold".
      if (RE2::PartialMatch(re2::StringPiece(f.data(), f.size()), *re, &suffix) && !suffix.empty() &&
          suffix.size() < f.size()) {
        f.remove_suffix(suffix.size());
        again = true;
      }
    }
  }
  return std::string(f);
}

bool SignatureRules::skipped(std::string_view normalized_function) const {
  return impl_->skip &&
         RE2::FullMatch(re2::StringPiece(normalized_function.data(), normalized_function.size()), *impl_->skip);
}

bool SignatureRules::out_of_tree(std::string_view module_flags) const {
  return !impl_->out_of_tree_flags.empty() &&
         module_flags.find_first_of(impl_->out_of_tree_flags) != std::string_view::npos;
}

size_t SignatureRules::frames() const { return impl_->frames; }
size_t SignatureRules::frames_when_corrupted() const { return impl_->frames_when_corrupted; }
size_t SignatureRules::max_title() const { return impl_->max_title; }

std::filesystem::path default_signature_rules_path() {
  if (const char* env = std::getenv("KTRIAGE_SIGNATURE_RULES"); env && *env) return env;
  return KTRIAGE_SIGNATURE_RULES;
}

}  // namespace ktriage
