// Stable JSON: field names are documented in docs/json.md and scripts depend
// on them. Addresses and other 64-bit values are hex strings ("0x..."), since
// JSON numbers lose precision past 2^53 in most readers. Absent fields are
// null (scalars) or empty (lists), never omitted, so consumers see one shape.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "ktriage/render.h"
#include "render/stack_usage_json.h"
#include "support/json_text.h"
#include "support/json_writer.h"
#include "support/spool.h"

#include <functional>
#include <sstream>

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

Json location_json(const std::optional<SourceLocation>& l) {
  if (!l) return nullptr;
  return Json{{"file", l->file}, {"line", l->line}, {"column", l->column}};
}

// Adds the symbolizer's fields to a frame or the ip (JSON names fixed by issue 3).
void add_symbolization(Json& j, const FrameSymbolization* s) {
  j["source"] = s ? location_json(s->source) : Json(nullptr);
  Json inlined = Json::array();
  if (s) {
    for (const InlineFrame& f : s->inlined) {
      inlined.push_back(Json{{"function", f.function},
                             {"file", f.location.file},
                             {"line", f.location.line},
                             {"column", f.location.column}});
    }
  }
  j["inlined"] = inlined;
  j["symbolize_error"] = s && !s->symbolize_error.empty() ? Json(s->symbolize_error) : Json(nullptr);
  if (s && !s->source_context.empty()) {
    Json context = Json::array();
    for (const SourceLine& l : s->source_context) context.push_back(Json{{"line", l.line}, {"text", l.text}});
    j["source_context"] = context;
  }
}

Json debuginfo_json(const DebugInfoFile& f) {
  return Json{{"role", f.role},         {"name", f.name},     {"path", f.path},
              {"build_id", f.build_id}, {"has_dwarf", f.has_dwarf}, {"match", to_string(f.match)},
              {"confidence", to_string(f.confidence)}, {"used", !f.refused()}, {"what", f.what},
              {"evidence", f.evidence}};
}

Json instruction_json(const Instruction& i) {
  std::string bytes;
  for (uint8_t b : i.bytes) bytes += fmt::format("{:02x}", b);
  return Json{{"address", fmt::format("{:#x}", i.address)}, {"bytes", bytes}, {"text", i.text},
              {"faulting", i.faulting}};
}

Json fault_json(const FaultExplanation& f) {
  Json chain = Json::array();
  for (const ChainStep& c : f.chain) {
    chain.push_back(Json{{"instruction", instruction_json(c.instruction)},
                         {"address", fmt::format("{:#x}", c.instruction.address)},
                         {"register", c.register_name},
                         {"source", c.source ? fmt::format("{}:{}", c.source->file, c.source->line) : ""},
                         {"expression", step_expression(c)},
                         {"value", hex(c.value)}});
  }
  return Json{{"address", hex(f.address)},
              {"access", to_string(f.access)},
              {"instruction", instruction_json(f.instruction)},
              {"memory_operand", f.memory ? Json(f.memory->describe()) : Json(nullptr)},
              {"bad_register", f.bad_register},
              {"bad_value", hex(f.bad_value)},
              {"bad_value_class", to_string(f.bad_verdict.kind)},
              {"bad_value_description", f.bad_verdict.description},
              {"effective_address", hex(f.effective_address)},
              {"address_matches", opt(f.address_matches)},
              {"chain", chain},
              {"chain_stop", chain_stop_text(f.chain_stop)},
              {"source_expression", source_expression_text(f)},
              {"source_location", source_location_text(f)},
              {"sentences", fault_sentences(f)}};
}

Json listing_json(const FunctionListing& l) {
  Json instructions = Json::array();
  for (const ListingInstruction& i : l.instructions) {
    std::string bytes;
    for (uint8_t b : i.insn.bytes) bytes += fmt::format("{:02x}", b);
    Json inlined = Json::array();
    for (const InlineFrame& f : i.inlined) {
      inlined.push_back(Json{{"function", f.function},
                             {"file", f.location.file},
                             {"line", f.location.line},
                             {"column", f.location.column}});
    }
    instructions.push_back(Json{{"address", fmt::format("{:#x}", i.insn.address)},
                                {"offset", fmt::format("{:#x}", i.offset)},
                                {"bytes", bytes},
                                {"text", i.insn.text},
                                {"source", location_json(i.source)},
                                {"inlined", inlined},
                                {"target", str_or_null(i.target)},
                                {"target_address", hex(i.target_address)},
                                {"faulting", i.faulting}});
  }
  return Json{{"frame", l.frame},
              {"object", l.object},
              {"function", l.function},
              {"address", fmt::format("{:#x}", l.address)},
              {"address_space", l.runtime ? "runtime" : "link"},
              {"size", fmt::format("{:#x}", l.size)},
              {"return_address", l.return_address},
              {"warnings", l.warnings},
              {"instructions", instructions}};
}

void add_details(Json& j, const Report& r, const ReportDetails& d) {
  const Symbolization* sym = d.symbols ? &*d.symbols : nullptr;
  if (j["ip"].is_object()) add_symbolization(j["ip"], sym && sym->ip ? &*sym->ip : nullptr);
  for (size_t i = 0; i < j["frames"].size(); ++i) {
    add_symbolization(j["frames"][i], sym && i < sym->frames.size() ? &sym->frames[i] : nullptr);
  }
  if (sym && sym->kaslr_offset) {
    j["kaslr_offset"] = sym->kaslr_offset_hex();
  } else if (r.kernel_offset) {
    j["kaslr_offset"] = fmt::format("{:#x}", *r.kernel_offset);  // as the panic footer printed it
  } else {
    j["kaslr_offset"] = nullptr;
  }
  Json debuginfo = Json::array();
  if (sym) {
    for (const DebugInfoFile& f : sym->debuginfo) debuginfo.push_back(debuginfo_json(f));
  }
  j["debuginfo"] = debuginfo;
  Json sections = Json::array();
  if (sym) {
    for (const ModuleSection& m : sym->module_sections) {
      sections.push_back(Json{{"module", m.module}, {"section", m.section}, {"address", fmt::format("{:#x}", m.address)}});
    }
  }
  j["module_sections"] = sections;
  if (j["code"].is_object()) {
    Json instructions = Json::array();
    if (d.code) {
      for (const Instruction& i : d.code->instructions) instructions.push_back(instruction_json(i));
    }
    j["code"]["instructions"] = instructions;
    j["code"]["decode_error"] = d.code_error.empty() ? Json(nullptr) : Json(d.code_error);
    if (d.code_match) {
      Json offsets = Json::array();
      for (uint64_t o : d.code_match->differing_offsets) offsets.push_back(fmt::format("{:#x}", o));
      j["code"]["vmlinux_match"] = Json{{"verdict", to_string(d.code_match->verdict)},
                                        {"differing_offsets", offsets},
                                        {"compared", d.code_match->compared},
                                        {"relocated", d.code_match->relocated},
                                        {"kaslr_offset", d.code_match->kaslr_offset
                                                             ? Json(fmt::format("{:#x}", *d.code_match->kaslr_offset))
                                                             : Json(nullptr)},
                                        {"explanation", code_comparison_text(*d.code_match)}};
    } else {
      j["code"]["vmlinux_match"] = nullptr;
    }
  }
  j["fault"] = d.fault ? fault_json(*d.fault) : Json(nullptr);
  Json disassembly = Json::array();
  for (const FunctionListing& l : d.disassembly) disassembly.push_back(listing_json(l));
  j["disassembly"] = disassembly;
  j["disassembly_errors"] = d.disassembly_errors;
  j["stack_usage"] = render::stack_usage_json(d);
  // The fault's register set with each general-purpose value read as a pointer.
  for (size_t i = 0; i < j["registers"].size(); ++i) {
    Json classes = Json::object();
    if (d.register_classes && d.register_classes->set == i) {
      for (const ClassifiedRegister& c : d.register_classes->registers) {
        classes[c.name] = Json{{"class", to_string(c.verdict.kind)}, {"description", c.verdict.description}};
      }
    }
    j["registers"][i]["classes"] = std::move(classes);
  }
}

// The report as parsed. Written directly (support/json_writer.h): ingest
// stores this for every report, and an nlohmann document cost as much as
// parsing the log. analyze --json reads it back and adds the analysis.
void write_report(support::JsonWriter& w, const Report& r) {
  auto hex = [&](std::string_view key, const std::optional<uint64_t>& v) {
    w.key(key);
    v ? w.value(fmt::format("{:#x}", *v)) : w.null();
  };
  auto str_or_null = [&](std::string_view key, const std::string& v) {
    w.key(key);
    v.empty() ? w.null() : w.value(v);
  };
  auto symbol = [&](const Symbol& s) {
    hex("address", s.address);
    w.field("function", s.function);
    hex("offset", s.offset);
    hex("size", s.size);
    w.field("module", s.module);
    str_or_null("module_build_id", s.module_build_id);
  };
  auto bytes = [](const std::vector<uint8_t>& v) {
    std::string out;
    out.reserve(v.size() * 2);
    for (uint8_t b : v) fmt::format_to(std::back_inserter(out), "{:02x}", b);
    return out;
  };

  w.begin_object();
  w.field("kind", to_string(r.kind));
  w.field("type", r.type);
  w.field("header", r.header);
  w.field("title", r.title);
  w.key("alt_titles").strings(r.alt_titles);
  w.field("frame", r.frame);
  w.field("corrupted", r.corrupted);
  w.field("corrupted_reason", r.corrupted_reason);
  w.field("suppressed", r.suppressed);
  w.field("panicked", r.panicked);
  w.field("arch", to_string(r.arch));
  w.field("kernel_release", r.kernel_release);
  w.field("kernel_version", r.kernel_version);
  str_or_null("kernel_build_id", r.kernel_build_id);
  w.field("hardware", r.hardware);
  w.field("taint", r.taint.flags);
  w.key("taint_flags").strings(r.taint.meanings);
  w.field("cpu", r.cpu);
  w.field("pid", r.pid);
  w.field("comm", r.comm);
  hex("preempt_count", r.preempt_count);
  w.field("oops_code", r.oops_code);
  w.field("oops_number", r.oops_number);
  hex("fault_address", r.fault_address);
  w.key("error_code");
  if (r.error_code) {
    w.begin_object()
        .field("value", fmt::format("{:#x}", r.error_code->code))
        .field("description", r.error_code->describe())
        .end_object();
  } else {
    w.null();
  }
  w.key("ip");
  if (r.ip) {
    w.begin_object();
    symbol(*r.ip);
    w.end_object();
  } else {
    w.null();
  }
  w.key("registers").begin_array();
  for (const RegisterSet& set : r.registers) {
    w.begin_object().field("line", set.line).key("values").begin_object();
    // A name printed twice keeps its first place and its last value, as
    // an object built key by key would.
    for (size_t i = 0; i < set.regs.size(); ++i) {
      const std::string& name = set.regs[i].name;
      bool seen = false;
      for (size_t k = 0; k < i && !seen; ++k) seen = set.regs[k].name == name;
      if (seen) continue;
      uint64_t value = set.regs[i].value;
      for (size_t k = i + 1; k < set.regs.size(); ++k)
        if (set.regs[k].name == name) value = set.regs[k].value;
      w.field(name, fmt::format("{:#x}", value));
    }
    w.end_object().end_object();
  }
  w.end_array();
  w.key("frames").begin_array();
  for (const Frame& f : r.frames) {
    w.begin_object();
    symbol(f);
    w.field("reliable", f.reliable).field("context", f.context).field("line", f.line);
    w.key("printed_source");
    if (f.printed_source) {
      w.begin_object().field("file", f.printed_source->file).field("line", f.printed_source->line).end_object();
    } else {
      w.null();
    }
    w.field("printed_inline", f.printed_inline);
    w.end_object();
  }
  w.end_array();
  w.key("modules").strings(r.modules);
  w.key("module_flags").begin_array();  // as printed: "crashzoo(OE)"
  for (const ModuleFlags& m : r.module_flags) w.value(fmt::format("{}({})", m.name, m.flags));
  w.end_array();
  w.key("code");
  if (r.code) {
    const CodeBytes& c = *r.code;
    w.begin_object().field("text", c.text).field("bytes", bytes(c.bytes)).field("faulting_offset", c.faulting_offset);
    w.field("unit", c.unit).field("decodable", c.decodable);
    str_or_null("problem", c.problem);
    w.end_object();
  } else {
    w.null();
  }
  w.field("timestamp", r.timestamp);
  w.field("source", r.source);
  w.field("boot", r.boot);
  w.key("span")
      .begin_object()
      .field("begin", r.span.begin)
      .field("end", r.span.end)
      .field("first_line", r.span.first_line)
      .field("last_line", r.span.last_line)
      .end_object();
  w.key("anomalies").begin_array();
  for (const Anomaly& a : r.anomalies) w.begin_object().field("line", a.line).field("message", a.message).end_object();
  w.end_array();
  w.end_object();
}

Json report_json(const Report& r) { return Json::parse(render_parsed_json(r)); }

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

Json kb_match_json(const KbMatch& m, const KbKernel& kernel) {
  Json reasons = Json::array();
  for (const KbReason& r : m.reasons) reasons.push_back(kb_reason_text(r));
  return Json{{"id", m.id},
              {"title", m.title},
              {"fixed_in", m.fixed_in},
              {"carried_by", kb_carried_by_text(m, kernel)},
              {"verdict", to_string(m.verdict)},
              {"verdict_text", kb_verdict_text(m, kernel)},
              {"commit", m.commit},
              {"subject", m.subject},
              {"references", m.references},
              {"advice", m.advice},
              {"strength", to_string(m.strength)},
              {"reasons", std::move(reasons)},
              {"cve", str_or_null(m.cve)}};
}

Json fetch_json(const FetchReport& f) {
  Json files = Json::array();
  for (const FetchedFile& file : f.files) {
    files.push_back(Json{{"role", file.role}, {"name", file.name}, {"path", file.path}, {"build_id", file.build_id},
                         {"size", file.size}, {"source", file.source}});
  }
  return Json{{"release", f.kernel.release}, {"files", std::move(files)}, {"modules_dir", str_or_null(f.modules_dir)},
              {"module_files", f.module_files}, {"downloaded", f.downloaded}, {"problems", f.problems},
              {"notes", f.notes}};
}

}  // namespace

std::string render_parsed_json(const Report& report) {
  support::JsonWriter w;
  write_report(w, report);
  return w.take();
}

namespace {

std::string dump(const Json& j) { return support::json_text(j, 2); }

// `element` as an element of a top-level array (indented four), after a
// separator unless it is the first.
void write_element(std::ostream& out, const std::string& element, bool first) {
  if (!first) out << ",\n";
  std::string_view rest = element;
  for (size_t nl; (nl = rest.find('\n')) != std::string_view::npos; rest.remove_prefix(nl + 1))
    out << "    " << rest.substr(0, nl + 1);
  out << "    " << rest;
}

std::string report_element(const Report& r, const ReportDetails& d) {
  Json j = report_json(r);
  add_details(j, r, d);
  return dump(j);
}

// The document: a fleet's log has thousands of reports and findings, so
// each is built and written one at a time (a whole nlohmann document costs
// ~10x the text), spliced in where a placeholder is dumped.
void write_document(const Analysis& head, size_t reports, const FindingSource& findings,
                    const std::function<void(std::ostream&)>& write_reports, std::ostream& out) {
  const std::string reports_marker = "@ktriage:reports@", findings_marker = "@ktriage:findings@";
  Json doc;
  doc["schema_version"] = kJsonSchemaVersion;
  doc["source"] = head.source;
  doc["sources"] = head.sources.empty() ? Json::array({head.source}) : Json(head.sources);
  doc["reports"] = reports == 0 ? Json::array() : Json(reports_marker);
  doc["kernel_version"] = str_or_null(head.kernel_version);
  doc["findings"] = findings.size() == 0 ? Json::array() : Json(findings_marker);
  Json matches = Json::array();
  for (const KbMatch& m : head.kb_matches) matches.push_back(kb_match_json(m, head.kb_summary.kernel));
  doc["kb_matches"] = std::move(matches);
  doc["kb_summary"] = kb_summary_text(head.kb_matches, head.kb_summary);
  const StackLimit& limit = head.stack_limit;
  doc["stack_limit"] = Json{{"thread_size", opt(limit.thread_size)},
                            {"assumption", limit.assumption},
                            {"thread_info_on_stack", opt(limit.thread_info_on_stack)},
                            {"thread_info_reason", limit.thread_info_reason}};
  doc["debuginfo_fetch"] = head.debuginfo_fetch ? fetch_json(*head.debuginfo_fetch) : Json(nullptr);
  const std::string text = dump(doc);
  std::string_view rest = text;
  // A newline cannot occur inside a dumped string: these are the keys themselves.
  const std::string reports_slot = "\n  \"reports\": \"" + reports_marker + "\"";
  const std::string findings_slot = "\n  \"findings\": \"" + findings_marker + "\"";
  for (;;) {
    const size_t r = rest.find(reports_slot), f = rest.find(findings_slot);
    const size_t at = std::min(r, f);
    if (at == std::string_view::npos) break;
    const bool is_reports = at == r;
    out << rest.substr(0, at) << (is_reports ? "\n  \"reports\": [\n" : "\n  \"findings\": [\n");
    if (is_reports) {
      write_reports(out);
    } else {
      for (size_t i = 0; i < findings.size(); ++i) write_element(out, dump(finding_json(findings.at(i))), i == 0);
    }
    out << "\n  ]";
    rest.remove_prefix(at + (is_reports ? reports_slot : findings_slot).size());
  }
  out << rest << '\n';
}

}  // namespace

void render_json(const Analysis& analysis, std::ostream& out) {
  static const ReportDetails kNoDetails;
  const FindingList findings(analysis.findings);
  write_document(analysis, analysis.reports.size(), findings, [&](std::ostream& o) {
    for (size_t i = 0; i < analysis.reports.size(); ++i)
      write_element(o, report_element(analysis.reports[i], i < analysis.details.size() ? analysis.details[i] : kNoDetails),
                    i == 0);
  }, out);
}

namespace render_stream {

void json_window(const Analysis& window, size_t first, support::Spool& spool) {
  static const ReportDetails kNoDetails;
  for (size_t i = 0; i < window.reports.size(); ++i) {
    std::ostringstream s;
    write_element(s, report_element(window.reports[i], i < window.details.size() ? window.details[i] : kNoDetails),
                  first + i == 0);
    spool.append(s.str());
  }
}

void json_finish(const Analysis& head, size_t reports, const FindingSource& findings, const support::Spool& spool,
                 std::ostream& out) {
  write_document(head, reports, findings, [&](std::ostream& o) { spool.copy_to(o, 0, spool.size()); }, out);
}

}  // namespace render_stream

}  // namespace ktriage
