// One CVE JSON 5.x record of the Linux kernel CNA -> one KbEntry: the fix
// (subject, mainline and stable commits, first fixed release per stable
// branch), where the bug came from, and the signature of the crash the
// description quotes, read by the log parser like any pasted report.
#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "ktriage/kb_index.h"
#include "ktriage/logparse.h"
#include "ktriage/version.h"

namespace ktriage {
namespace {

using Json = nlohmann::json;

// A description longer than this is cut before parsing (the longest in the
// record set is ~40 KB; the parser bounds its own work, this bounds memory).
constexpr size_t kMaxDescription = 256 * 1024;

const std::string* string_at(const Json& j, std::string_view key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
}

std::string string_or(const Json& j, std::string_view key) {
  const std::string* s = string_at(j, key);
  return s ? *s : std::string();
}

const Json* array_at(const Json& j, std::string_view key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it != j.end() && it->is_array() ? &*it : nullptr;
}

bool is_hex_commit(std::string_view s) {
  return s.size() >= 12 && s.size() <= 40 &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool is_release(std::string_view s) {
  static const RE2 re(R"(\d+\.\d+(?:\.\d+)*(?:-rc\d+)?)");
  return RE2::FullMatch(s, re);
}

// "In the Linux kernel, the following vulnerability has been resolved:\n\n
// subsys: subject\n\nbody" -> "subsys: subject"
std::string subject_from(std::string_view description) {
  constexpr std::string_view kLead = "the following vulnerability has been resolved:";
  if (size_t at = description.find(kLead); at != std::string_view::npos) description.remove_prefix(at + kLead.size());
  size_t start = description.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return {};
  description.remove_prefix(start);
  return std::string(description.substr(0, description.find('\n')));
}

void add_unique(std::vector<std::string>& list, std::string value) {
  if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(std::move(value));
}

void sort_versions(std::vector<std::string>& list) {
  std::sort(list.begin(), list.end(),
            [](const std::string& a, const std::string& b) { return compare_upstream_versions(a, b) < 0; });
}

// affected[].versions[] of the Linux product: git ranges give the commits,
// semver entries the releases.
void read_versions(const Json& versions, KbEntry& e) {
  std::vector<std::pair<std::string, std::string>> git;  // introduced, fixed
  for (const Json& v : versions) {
    const std::string version = string_or(v, "version");
    const std::string status = string_or(v, "status");
    const std::string type = string_or(v, "versionType");
    const std::string less = string_or(v, "lessThan");
    const std::string less_eq = string_or(v, "lessThanOrEqual");
    if (type == "git") {
      if (status == "affected" && is_hex_commit(version) && is_hex_commit(less)) git.emplace_back(version, less);
      continue;
    }
    if (type == "original_commit_for_fix") {
      if (status == "unaffected" && is_release(version)) e.fixed_in = version;
      continue;
    }
    if (status == "unaffected" && is_release(version) && less_eq.size() > 2 && less_eq.ends_with(".*")) {
      add_unique(e.stable_fixes, version);  // {"version":"6.1.78","lessThanOrEqual":"6.1.*"}
    } else if (status == "unaffected" && version == "0" && is_release(less)) {
      e.introduced_in = less;  // {"version":"0","lessThan":"6.5"}: mainline before 6.5 unaffected
    } else if (status == "affected" && less.empty() && less_eq.empty() && is_release(version)) {
      if (e.introduced_in.empty()) e.introduced_in = version;  // {"version":"6.5","status":"affected"}
    } else if (status == "affected" && is_release(version) && is_release(less) && version != "0" &&
               stable_branch(version) == stable_branch(less)) {
      add_unique(e.stable_affected, version);  // {"version":"6.1.43","lessThan":"6.1.78"}: a backport brought it
    }
  }
  if (!git.empty()) {
    // The kernel CNA lists the stable branches first and mainline last.
    e.commit = git.back().second;
    e.introduced_commit = git.back().first;
    for (size_t i = 0; i + 1 < git.size(); ++i) add_unique(e.stable_commits, git[i].second.substr(0, 12));
  }
}

}  // namespace

Expected<CveRecordResult> read_cve_record(std::string_view text, std::string_view name) {
  Json j;
  try {
    j = Json::parse(text);
  } catch (const Json::parse_error& ex) {
    return Error{fmt::format("{}: not JSON (byte {})", name, ex.byte)};
  } catch (const Json::out_of_range&) {
    // kb_fuzz: a number no double holds ("1e999") is valid JSON nlohmann refuses.
    return Error{fmt::format("{}: not a CVE record (a number out of range)", name)};
  }
  CveRecordResult out;
  KbEntry& e = out.entry;
  e.file = std::string(name);
  if (!j.is_object()) return Error{fmt::format("{}: not a CVE record (not a JSON object)", name)};
  if (const std::string* type = string_at(j, "dataType"); type && *type != "CVE_RECORD")
    return Error{fmt::format("{}: dataType \"{}\" is not CVE_RECORD", name, *type)};
  const std::string version = string_or(j, "dataVersion");
  if (!version.starts_with("5."))
    return Error{fmt::format("{}: schema {} is not CVE JSON 5.x", name, version.empty() ? "(none)" : version)};
  const Json& meta = j.contains("cveMetadata") ? j["cveMetadata"] : Json();
  e.cve = string_or(meta, "cveId");
  static const RE2 id_re(R"(CVE-\d{4}-\d{4,})");
  if (!RE2::FullMatch(e.cve, id_re)) return Error{fmt::format("{}: no valid cveMetadata.cveId", name)};
  e.id = e.cve;
  const std::string state = string_or(meta, "state");
  if (state == "REJECTED") {
    out.rejected = true;
    return out;
  }
  if (state != "PUBLISHED") return Error{fmt::format("{}: state \"{}\" is not PUBLISHED", name, state)};
  const Json* containers = j.contains("containers") && j["containers"].is_object() ? &j["containers"] : nullptr;
  const Json* cna = containers && containers->contains("cna") ? &(*containers)["cna"] : nullptr;
  if (!cna || !cna->is_object()) return Error{fmt::format("{}: no containers.cna", name)};

  std::string description;
  if (const Json* descriptions = array_at(*cna, "descriptions")) {
    for (const Json& d : *descriptions) {
      if (!string_or(d, "lang").starts_with("en")) continue;
      description = string_or(d, "value");
      break;
    }
  }
  if (description.empty()) return Error{fmt::format("{}: no English description", name)};
  e.subject = string_or(*cna, "title");
  if (e.subject.empty()) e.subject = subject_from(description);
  if (e.subject.size() > 512) e.subject.resize(512);
  e.title = e.subject;
  e.short_name = e.cve;

  if (const Json* affected = array_at(*cna, "affected")) {
    for (const Json& a : *affected) {
      if (string_or(a, "product") != "Linux") continue;
      if (const Json* versions = array_at(a, "versions")) read_versions(*versions, e);
    }
  }
  sort_versions(e.stable_fixes);
  sort_versions(e.stable_affected);
  if (e.commit.empty() && e.fixed_in.empty() && e.stable_fixes.empty())
    return Error{fmt::format("{}: no fix (no git range, fixed release or stable fix)", name)};

  if (description.size() > kMaxDescription) description.resize(kMaxDescription);
  // The crash the record quotes: the first report with a trace (prose such
  // as "the BUG: ... fires" also reads as a report header, without one),
  // else the first with a title.
  std::vector<Report> reports = parse_log(description);
  const Report* chosen = nullptr;
  for (const Report& r : reports) {
    if (r.title.empty()) continue;
    if (!chosen) chosen = &r;
    if (r.ip || !r.frames.empty()) {
      chosen = &r;
      break;
    }
  }
  if (chosen) e.signature = signature_of(*chosen);
  return out;
}

}  // namespace ktriage
