// Comparing two `analyze --json` documents made with debug files from
// different places (fetched vs given by hand): the same answers, whatever
// the files' paths.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace ktriage::test {

// The document without the fetch summary, with every debug file's path
// (and any message naming it) replaced by "<role name>".
inline nlohmann::json symbolized(nlohmann::json doc) {
  doc.erase("debuginfo_fetch");
  std::map<std::string, std::string> names;
  for (const nlohmann::json& r : doc["reports"]) {
    for (const nlohmann::json& f : r["debuginfo"]) {
      names[f["path"].get<std::string>()] = "<" + f["role"].get<std::string>() + " " + f["name"].get<std::string>() + ">";
    }
  }
  auto walk = [&](auto& self, nlohmann::json& j) -> void {
    if (j.is_object()) {
      j.erase("path");
      for (auto& [k, v] : j.items()) self(self, v);
    } else if (j.is_array()) {
      for (nlohmann::json& v : j) self(self, v);
    } else if (j.is_string()) {
      std::string s = j.get<std::string>();
      for (const auto& [path, name] : names) {
        for (size_t at; !path.empty() && (at = s.find(path)) != std::string::npos;) s.replace(at, path.size(), name);
      }
      j = s;
    }
  };
  walk(walk, doc);
  return doc;
}

// Where two documents first differ ("/reports/0/frames/3/source: A != B"),
// "" when they are equal: a readable failure instead of two whole documents.
inline std::string first_difference(const nlohmann::json& a, const nlohmann::json& b) {
  const nlohmann::json patch = nlohmann::json::diff(a, b);
  if (patch.empty()) return "";
  const std::string at = patch[0]["path"].get<std::string>();
  const nlohmann::json::json_pointer p(at);
  return at + ": " + (a.contains(p) ? a[p].dump() : "(none)") + " != " + (b.contains(p) ? b[p].dump() : "(none)") +
         " (" + std::to_string(patch.size()) + " differences)";
}

}  // namespace ktriage::test
