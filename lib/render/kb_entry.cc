// One knowledge-base entry as `ktriage kb show` and `kb search` print it:
// text for people, JSON for scripts (docs/kb.md, "Looking things up").
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "ktriage/kb.h"
#include "ktriage/render.h"
#include "support/json_text.h"

namespace ktriage {
namespace {

using Json = nlohmann::ordered_json;

std::string joined(const std::vector<std::string>& list, std::string_view sep = ", ") {
  std::string out;
  for (const std::string& s : list) out += (out.empty() ? "" : std::string(sep)) + s;
  return out;
}

}  // namespace

std::string kb_entry_line(const KbEntry& e) {
  std::string sig = e.signature.title.empty() ? "" : fmt::format("  [{}]", e.signature.title);
  return fmt::format("{}  {}{}", e.id, e.subject.empty() ? e.title : e.subject, sig);
}

void render_kb_entry_text(const KbEntry& e, const KbMatch& verdict, const KbKernel& kernel, std::ostream& out) {
  out << fmt::format("{}: {}\n", e.id, e.title);
  if (!e.commit.empty()) out << fmt::format("  fix: {} \"{}\"\n", e.commit, e.subject);
  if (!e.fixed_in.empty()) out << fmt::format("  fixed upstream in: {}\n", e.fixed_in);
  if (!e.stable_fixes.empty()) out << fmt::format("  fixed in stable: {}\n", joined(e.stable_fixes));
  if (!e.stable_commits.empty()) out << fmt::format("  stable commits: {}\n", joined(e.stable_commits, " "));
  if (!e.introduced_in.empty() || !e.introduced_commit.empty())
    out << fmt::format("  introduced: {}{}{}\n", e.introduced_in,
                       e.introduced_in.empty() || e.introduced_commit.empty() ? "" : " by ", e.introduced_commit);
  if (!e.stable_affected.empty()) out << fmt::format("  backported to stable in: {}\n", joined(e.stable_affected));
  for (const auto& [line, version] : e.carried_by) out << fmt::format("  carried by: {} {}\n", line, version);
  const KbSignature& s = e.signature;
  if (!s.empty()) {
    out << "  crash signature:\n";
    if (!s.title.empty()) out << fmt::format("    title: {}\n", s.title);
    if (!s.kind.empty()) out << fmt::format("    kind: {}{}\n", s.kind, s.type.empty() ? "" : " (" + s.type + ")");
    if (!s.frame.empty()) out << fmt::format("    guilty frame: {}\n", s.frame);
    if (!s.module.empty()) out << fmt::format("    module: {}\n", s.module);
    if (!s.frames.empty()) out << fmt::format("    frames: {}\n", joined(s.frames, " < "));
  } else if (!e.cve.empty()) {
    out << "  crash signature: none (the record quotes no crash the parser could read)\n";
  }
  out << fmt::format("  verdict: {}: {}\n", to_string(verdict.verdict), kb_verdict_text(verdict, kernel));
  for (const std::string& r : e.references) out << fmt::format("  see {}\n", r);
  if (!e.advice.empty()) out << fmt::format("  advice: {}\n", e.advice);
  out << fmt::format("  source: {}\n", e.line ? fmt::format("{}:{}", e.file, e.line) : e.file);
}

std::string render_kb_entry_json(const KbEntry& e, const KbMatch* verdict, const KbKernel& kernel) {
  Json carried = Json::object();
  for (const auto& [line, version] : e.carried_by) carried[line] = version;
  const KbSignature& s = e.signature;
  Json sig = s.empty() ? Json(nullptr) : Json{{"kind", s.kind},   {"type", s.type},     {"title", s.title},
                                              {"frame", s.frame}, {"module", s.module}, {"frames", s.frames}};
  Json j{{"id", e.id},
         {"cve", e.cve.empty() ? Json(nullptr) : Json(e.cve)},
         {"title", e.title},
         {"commit", e.commit},
         {"subject", e.subject},
         {"fixed_in", e.fixed_in},
         {"stable_fixes", e.stable_fixes},
         {"stable_commits", e.stable_commits},
         {"stable_affected", e.stable_affected},
         {"introduced_in", e.introduced_in},
         {"introduced_commit", e.introduced_commit},
         {"carried_by", carried},
         {"signature", sig},
         {"references", e.references},
         {"advice", e.advice},
         {"source", e.file}};
  if (verdict) {
    j["verdict"] = to_string(verdict->verdict);
    j["verdict_text"] = kb_verdict_text(*verdict, kernel);
  }
  return support::json_text(j, 2);
}

}  // namespace ktriage
