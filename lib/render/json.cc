// Stable JSON: field names are documented in docs/json.md and scripts depend
// on them. Addresses and other 64-bit values are hex strings ("0x..."), since
// JSON numbers lose precision past 2^53 in most readers. Absent fields are
// null (scalars) or empty (lists), never omitted, so consumers see one shape.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "ktriage/render.h"

namespace ktriage {
namespace {

using Json = nlohmann::ordered_json;

Json hex(const std::optional<uint64_t>& v) {
  return v ? Json(fmt::format("{:#x}", *v)) : Json(nullptr);
}

template <typename T>
Json opt(const std::optional<T>& v) {
  return v ? Json(*v) : Json(nullptr);
}

Json str_or_null(const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); }

Json symbol_json(const Symbol& s) {
  return Json{{"address", hex(s.address)},       {"function", s.function},
              {"offset", hex(s.offset)},         {"size", hex(s.size)},
              {"module", s.module},              {"module_build_id", str_or_null(s.module_build_id)}};
}

Json frame_json(const Frame& f) {
  Json j = symbol_json(f);
  j["reliable"] = f.reliable;
  j["context"] = f.context;
  j["line"] = f.line;
  return j;
}

Json registers_json(const RegisterSet& set) {
  Json regs = Json::object();
  for (const Register& r : set.regs) regs[r.name] = fmt::format("{:#x}", r.value);
  return Json{{"line", set.line}, {"values", regs}};
}

Json code_json(const CodeBytes& c) {
  std::string bytes;
  for (uint8_t b : c.bytes) bytes += fmt::format("{:02x}", b);
  return Json{{"text", c.text},
              {"bytes", bytes},
              {"faulting_offset", opt(c.faulting_offset)},
              {"unit", c.unit},
              {"decodable", c.decodable}};
}

Json report_json(const Report& r) {
  Json j;
  j["kind"] = to_string(r.kind);
  j["type"] = r.type;
  j["header"] = r.header;
  j["title"] = r.title;
  j["alt_titles"] = r.alt_titles;
  j["frame"] = r.frame;
  j["corrupted"] = r.corrupted;
  j["corrupted_reason"] = r.corrupted_reason;
  j["suppressed"] = r.suppressed;
  j["panicked"] = r.panicked;
  j["arch"] = to_string(r.arch);
  j["kernel_release"] = r.kernel_release;
  j["kernel_version"] = r.kernel_version;
  j["hardware"] = r.hardware;
  j["taint"] = r.taint.flags;
  j["taint_flags"] = r.taint.meanings;
  j["cpu"] = opt(r.cpu);
  j["pid"] = opt(r.pid);
  j["comm"] = r.comm;
  j["preempt_count"] = hex(r.preempt_count);
  j["oops_code"] = r.oops_code;
  j["oops_number"] = opt(r.oops_number);
  j["fault_address"] = hex(r.fault_address);
  if (r.error_code) {
    j["error_code"] = Json{{"value", fmt::format("{:#x}", r.error_code->code)},
                           {"description", r.error_code->describe()}};
  } else {
    j["error_code"] = nullptr;
  }
  j["ip"] = r.ip ? symbol_json(*r.ip) : Json(nullptr);
  Json regs = Json::array();
  for (const RegisterSet& s : r.registers) regs.push_back(registers_json(s));
  j["registers"] = regs;
  Json frames = Json::array();
  for (const Frame& f : r.frames) frames.push_back(frame_json(f));
  j["frames"] = frames;
  j["modules"] = r.modules;
  j["code"] = r.code ? code_json(*r.code) : Json(nullptr);
  j["timestamp"] = opt(r.timestamp);
  j["span"] = Json{{"begin", r.span.begin},
                   {"end", r.span.end},
                   {"first_line", r.span.first_line},
                   {"last_line", r.span.last_line}};
  Json anomalies = Json::array();
  for (const Anomaly& a : r.anomalies) anomalies.push_back(Json{{"line", a.line}, {"message", a.message}});
  j["anomalies"] = anomalies;
  return j;
}

Json finding_json(const Finding& f) {
  Json evidence = Json::array();
  for (const Evidence& e : f.evidence) {
    evidence.push_back(Json{{"what", e.what}, {"text", e.text}, {"report", opt(e.report)}, {"line", opt(e.line)}});
  }
  return Json{{"id", f.id},
              {"cause", f.cause},
              {"title", f.title},
              {"confidence", f.confidence},
              {"confidence_reason", f.confidence_reason},
              {"reports", f.reports},
              {"evidence", evidence},
              {"explanation", f.explanation},
              {"actions", f.actions}};
}

Json kb_match_json(const KbMatch& m) {
  return Json{{"id", m.id},
              {"title", m.title},
              {"fixed_in", m.fixed_in},
              {"carried_by", m.carried_by},
              {"verdict", m.verdict},
              {"verdict_text", m.verdict_text},
              {"commit", m.commit},
              {"subject", m.subject},
              {"references", m.references},
              {"advice", m.advice}};
}

}  // namespace

void render_json(const Analysis& analysis, std::ostream& out) {
  Json doc;
  doc["schema_version"] = kJsonSchemaVersion;
  doc["source"] = analysis.source;
  Json reports = Json::array();
  for (const Report& r : analysis.reports) reports.push_back(report_json(r));
  doc["reports"] = std::move(reports);
  doc["kernel_version"] = str_or_null(analysis.kernel_version);
  Json findings = Json::array();
  for (const Finding& f : analysis.findings) findings.push_back(finding_json(f));
  doc["findings"] = std::move(findings);
  Json matches = Json::array();
  for (const KbMatch& m : analysis.kb_matches) matches.push_back(kb_match_json(m));
  doc["kb_matches"] = std::move(matches);
  // Invalid UTF-8 from the log is replaced, never a throw.
  out << doc.dump(2, ' ', false, Json::error_handler_t::replace) << '\n';
}

}  // namespace ktriage
