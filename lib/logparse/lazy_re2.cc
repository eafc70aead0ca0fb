// LazyRE2 (compiled on first use, with the literal text every match needs)
// and compile_pattern(): syzkaller's placeholders expanded.
#include <cstring>

#include "logparse/detectors.h"

namespace ktriage::logparse {
namespace {

std::string expand_placeholders(std::string_view pattern) {
  static const std::pair<std::string_view, std::string_view> kPlaceholders[] = {
      {"{{ADDR}}", "0x[0-9a-f]+"},
      {"{{PC}}", R"(\[\<?(?:0x)?[0-9a-f]+\>?\])"},
      {"{{FUNC}}", R"(([a-zA-Z0-9_]+)(?:\.|\+))"},
      {"{{SRC}}", R"(([a-zA-Z0-9-_/.]+\.[a-z]+:[0-9]+))"},
      {"{{TASK}}", R"([\s\S]{0,100}?)"},
  };
  std::string out(pattern);
  for (const auto& [name, re] : kPlaceholders) {
    for (size_t pos = out.find(name); pos != std::string::npos; pos = out.find(name, pos + re.size()))
      out.replace(pos, name.size(), re);
  }
  return out;
}

}  // namespace

// A literal followed by a quantifier loses its last character.
std::string leading_literal(std::string_view pattern) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (std::strchr("\\.^$|?*+()[]{}", c)) {
      if ((c == '?' || c == '*' || c == '{') && !out.empty()) out.pop_back();
      break;
    }
    out.push_back(c);
  }
  return out;
}

std::unique_ptr<RE2> compile_pattern(std::string_view pattern) {
  RE2::Options opts(RE2::Latin1);
  opts.set_log_errors(false);
  auto re = std::make_unique<RE2>(expand_placeholders(pattern), opts);
  if (!re->ok()) {
    // A bad table entry must not take the parser down: it simply never matches.
    re = std::make_unique<RE2>("$^never", opts);
  }
  return re;
}

LazyRE2::LazyRE2(std::string_view source, Syntax syntax) : state_(std::make_unique<State>()) {
  state_->source = std::string(source);
  state_->syntax = syntax;
  // Every match holds the leading literal of one top-level alternative.
  // Only for plain alternations: '(' or '[' may hide a '|', '\\' escape one.
  if (source.find_first_of("([\\") == std::string_view::npos) {
    std::vector<std::string> leads;
    for (size_t b = 0;;) {
      size_t e = source.find('|', b);
      std::string lead = leading_literal(source.substr(b, e == std::string_view::npos ? e : e - b));
      if (lead.empty()) return;  // an alternative without one: no hint at all
      leads.push_back(std::move(lead));
      if (e == std::string_view::npos) break;
      b = e + 1;
    }
    set_required(std::move(leads));
  } else if (source.find('|') == std::string_view::npos) {
    std::string lead = leading_literal(source);
    if (!lead.empty()) set_required({std::move(lead)});
  }
}

void LazyRE2::set_required(std::vector<std::string> texts) {
  state_->required = std::move(texts);
  state_->required_bytes.clear();
  for (const std::string& t : state_->required) state_->required_bytes.emplace_back(t);
}

bool LazyRE2::may_match(std::string_view line) const {
  if (state_->required.empty()) return true;
  for (const std::string& t : state_->required)
    if (line.find(t) != std::string_view::npos) return true;
  return false;
}

bool LazyRE2::may_match(const ScannedLine& line) const {
  if (state_->required.empty()) return true;
  for (size_t k = 0; k < state_->required.size(); ++k)
    if (line.bytes().covers(state_->required_bytes[k]) && line.text().find(state_->required[k]) != std::string_view::npos)
      return true;
  return false;
}

const RE2& LazyRE2::get() const {
  std::call_once(state_->once, [s = state_.get()] {
    if (s->syntax == Syntax::placeholders) s->re = compile_pattern(s->source);
    else s->re = std::make_unique<RE2>(s->source, RE2::Latin1);
    s->done.store(true, std::memory_order_release);
  });
  return *state_->re;
}

const std::string& LazyRE2::source() const { return state_->source; }

bool LazyRE2::compiled() const { return state_ && state_->done.load(std::memory_order_acquire); }

}  // namespace ktriage::logparse
