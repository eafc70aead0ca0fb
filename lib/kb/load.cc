// Knowledge-base loader: TOML (toml++) into KbEntry, with every error naming
// the file, line, column and field. Schema: docs/kb.md.
#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <toml++/toml.h>

#include "kb/compiled.h"
#include "ktriage/kb.h"
#include "ktriage/kb_index.h"

namespace ktriage {
namespace {

constexpr size_t kMaxFileBytes = 1 << 20;     // a KB file is hand-written text
constexpr size_t kMaxPatternBytes = 1024;
constexpr int64_t kMaxRegexMemory = 1 << 20;  // per pattern; RE2 refuses larger programs

// Thrown inside this file only; add_toml() turns it into an Error.
struct LoadError {
  std::string message;
};

std::string_view type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: return "table";
    case toml::node_type::array: return "array";
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
    default: return "nothing";
  }
}

class Reader {
 public:
  explicit Reader(std::string_view file) : file_(file) {}

  [[noreturn]] void fail(const toml::source_region& where, std::string_view field, std::string_view message) const {
    throw LoadError{fmt::format("{}:{}:{}: {}: {}", file_, where.begin.line, where.begin.column, field, message)};
  }

  std::string string(const toml::node& node, std::string_view field) const {
    if (!node.is_string()) fail(node.source(), field, fmt::format("expected a string, got {}", type_name(node)));
    return std::string(node.as_string()->get());
  }

  // A string or an array of strings.
  std::vector<std::string> strings(const toml::node& node, std::string_view field) const {
    if (node.is_string()) return {string(node, field)};
    const toml::array* array = node.as_array();
    if (!array) fail(node.source(), field, fmt::format("expected a string or an array of strings, got {}", type_name(node)));
    std::vector<std::string> out;
    for (size_t i = 0; i < array->size(); ++i)
      out.push_back(string(*array->get(i), fmt::format("{}[{}]", field, i)));
    return out;
  }

  const toml::table& table(const toml::node& node, std::string_view field) const {
    const toml::table* t = node.as_table();
    if (!t) fail(node.source(), field, fmt::format("expected a table, got {}", type_name(node)));
    return *t;
  }

  // "2014-05-29" as a string or a TOML date.
  std::string date(const toml::node& node, std::string_view field) const {
    if (const auto* d = node.as_date()) {
      const toml::date& v = d->get();
      return fmt::format("{:04}-{:02}-{:02}", v.year, v.month, v.day);
    }
    return string(node, field);
  }

  std::unique_ptr<RE2> regex(const toml::node& node, std::string_view field, std::string_view pattern) const {
    if (pattern.size() > kMaxPatternBytes)
      fail(node.source(), field, fmt::format("pattern longer than {} bytes", kMaxPatternBytes));
    RE2::Options options;
    options.set_log_errors(false);
    options.set_max_mem(kMaxRegexMemory);
    auto re = std::make_unique<RE2>(pattern, options);
    if (!re->ok()) fail(node.source(), field, fmt::format("invalid regular expression: {}", re->error()));
    return re;
  }

  const std::string& file() const { return file_; }

 private:
  std::string file_;
};

void check_keys(const Reader& reader, const toml::table& table, std::string_view field,
                std::initializer_list<std::string_view> allowed) {
  for (auto&& [key, node] : table) {
    if (std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end()) continue;
    std::string names;
    for (std::string_view a : allowed) names += (names.empty() ? "" : ", ") + std::string(a);
    reader.fail(key.source(), fmt::format("{}.{}", field, key.str()), fmt::format("unknown key (expected one of: {})", names));
  }
}

bool valid_id(std::string_view id) {
  static const RE2 re(R"([A-Za-z0-9][A-Za-z0-9._-]{0,127})");
  return RE2::FullMatch(id, re);
}

// ">= 2.6.32, < 3.15" or "*".
KbVersionRange parse_range(const Reader& reader, const toml::node& node, std::string_view field) {
  KbVersionRange range;
  range.text = reader.string(node, field);
  re2::StringPiece rest(range.text);
  static const RE2 any_re(R"(\s*\*?\s*)");
  if (RE2::FullMatch(rest, any_re)) return range;
  static const RE2 item_re(R"(\s*(<=|>=|==|=|<|>|!=)\s*([^\s,]+)\s*(?:,|$))");
  std::string op, version;
  while (!rest.empty()) {
    if (!RE2::Consume(&rest, item_re, &op, &version))
      reader.fail(node.source(), field,
                  fmt::format("bad version range \"{}\" (expected e.g. \">= 2.6.32, < 3.15\" or \"*\")", range.text));
    range.constraints.emplace_back(op == "=" ? "==" : op, version);
  }
  return range;
}

std::vector<std::string> checked_kinds(const Reader& reader, const toml::node& node, std::string_view field) {
  std::vector<std::string> kinds = reader.strings(node, field);
  for (const std::string& k : kinds)
    if (!crash_kind_from_string(k)) reader.fail(node.source(), field, fmt::format("unknown report kind \"{}\"", k));
  return kinds;
}

std::vector<std::string> checked_arch(const Reader& reader, const toml::node& node, std::string_view field) {
  static const std::set<std::string, std::less<>> known = {"x86_64", "i386", "arm64", "arm", "ppc64",
                                                           "ppc", "s390", "riscv64", "mips"};
  std::vector<std::string> arch = reader.strings(node, field);
  for (const std::string& a : arch)
    if (!known.contains(a)) reader.fail(node.source(), field, fmt::format("unknown architecture \"{}\"", a));
  return arch;
}

void read_match(const Reader& reader, const toml::table& t, std::string_view field, KbEntry& entry,
                KnowledgeBase::Compiled& compiled) {
  check_keys(reader, t, field,
             {"titles", "types", "kinds", "frames", "modules", "findings", "causes", "arch", "kernels"});
  KbCondition& m = entry.match;
  auto patterns = [&](std::string_view key, std::vector<std::string>& out, std::vector<std::unique_ptr<RE2>>& res) {
    const toml::node* node = t.get(key);
    if (!node) return;
    std::string f = fmt::format("{}.{}", field, key);
    out = reader.strings(*node, f);
    const toml::array* array = node->as_array();
    for (size_t i = 0; i < out.size(); ++i) {
      const toml::node& where = array ? *array->get(i) : *node;
      res.push_back(reader.regex(where, array ? fmt::format("{}[{}]", f, i) : f, out[i]));
    }
  };
  patterns("titles", m.titles, compiled.titles);
  patterns("types", m.types, compiled.types);
  patterns("frames", m.frames, compiled.frames);
  auto field_of = [&](std::string_view key) { return fmt::format("{}.{}", field, key); };
  if (const toml::node* n = t.get("kinds")) m.kinds = checked_kinds(reader, *n, field_of("kinds"));
  if (const toml::node* n = t.get("modules")) m.modules = reader.strings(*n, field_of("modules"));
  if (const toml::node* n = t.get("findings")) m.findings = reader.strings(*n, field_of("findings"));
  if (const toml::node* n = t.get("causes")) m.causes = reader.strings(*n, field_of("causes"));
  if (const toml::node* n = t.get("arch")) m.arch = checked_arch(reader, *n, field_of("arch"));
  if (const toml::node* n = t.get("kernels")) {
    const toml::table& kernels = reader.table(*n, field_of("kernels"));
    for (auto&& [key, node] : kernels) {
      std::string f = fmt::format("{}.kernels.{}", field, key.str());
      if (!is_known_kernel_line(key.str()))
        reader.fail(key.source(), f,
                    "unknown kernel line (expected rhelN, uekN, amznN, fedora, suse, debian, ubuntu or upstream)");
      m.kernels[std::string(key.str())] = parse_range(reader, node, f);
    }
  }
  bool any = !m.titles.empty() || !m.types.empty() || !m.kinds.empty() || !m.frames.empty() ||
             !m.modules.empty() || !m.findings.empty() || !m.causes.empty();
  if (!any)
    reader.fail(t.source(), field,
                "no condition on the report (give at least one of titles, types, kinds, frames, modules, findings, causes)");
}

void read_fix(const Reader& reader, const toml::table& t, std::string_view field, KbEntry& entry) {
  check_keys(reader, t, field, {"commit", "subject", "fixed_in", "committed", "note", "cve"});
  auto f = [&](std::string_view key) { return fmt::format("{}.{}", field, key); };
  if (const toml::node* n = t.get("commit")) {
    entry.commit = reader.string(*n, f("commit"));
    static const RE2 hex(R"([0-9a-f]{7,40})");
    if (!RE2::FullMatch(entry.commit, hex))
      reader.fail(n->source(), f("commit"), "expected a lower-case hex commit id of 7 to 40 digits");
  }
  if (const toml::node* n = t.get("subject")) entry.subject = reader.string(*n, f("subject"));
  if (const toml::node* n = t.get("fixed_in")) {
    entry.fixed_in = reader.string(*n, f("fixed_in"));
    static const RE2 release(R"(\d+\.\d+(?:\.\d+)?(?:-rc\d+)?)");
    if (!RE2::FullMatch(entry.fixed_in, release))
      reader.fail(n->source(), f("fixed_in"), "expected an upstream release such as \"3.15\"");
  }
  if (const toml::node* n = t.get("committed")) entry.committed = reader.date(*n, f("committed"));
  if (const toml::node* n = t.get("note")) entry.fix_note = reader.string(*n, f("note"));
  if (const toml::node* n = t.get("cve")) {
    entry.cve = reader.string(*n, f("cve"));
    static const RE2 cve(R"(CVE-\d{4}-\d{4,})");
    if (!RE2::FullMatch(entry.cve, cve)) reader.fail(n->source(), f("cve"), "expected a CVE id such as \"CVE-2024-26581\"");
  }
}

void read_carried_by(const Reader& reader, const toml::table& t, std::string_view field, KbEntry& entry) {
  for (auto&& [key, node] : t) {
    std::string f = fmt::format("{}.{}", field, key.str());
    if (!is_known_kernel_line(key.str()))
      reader.fail(key.source(), f,
                  "unknown kernel line (expected rhelN, uekN, amznN, fedora, suse, debian, ubuntu or upstream)");
    std::string version = reader.string(node, f);
    // An RPM line's kernel must carry that line's dist tag ("2.6.32-520.el6"
    // for rhel6): a typo here would silently give wrong verdicts.
    if (scheme_of_line(key.str()) == VersionScheme::rpm && key.str() != "suse") {
      KernelRelease k = classify_kernel_release(version);
      if (k.line != key.str())
        reader.fail(node.source(), f,
                    fmt::format("\"{}\" is not a {} kernel (read as {})", version, key.str(),
                                k.line.empty() ? "nothing" : k.line));
    }
    entry.carried_by[std::string(key.str())] = version;
  }
}

// Bug tracker ids named by reference URLs, in the form distro changelogs are
// matched on ("rhbz:1028831").
std::vector<std::string> bugs_of(const std::vector<std::string>& references) {
  static const RE2 rhbz(R"(bugzilla\.redhat\.com/(?:show_bug\.cgi\?id=)?(\d+))");
  static const RE2 suse(R"(bugzilla\.suse\.com/(?:show_bug\.cgi\?id=)?(\d+))");
  static const RE2 debian(R"(bugs\.debian\.org/(?:cgi-bin/bugreport\.cgi\?bug=)?(\d+))");
  std::vector<std::string> out;
  std::string id;
  for (const std::string& r : references) {
    if (RE2::PartialMatch(r, rhbz, &id)) out.push_back("rhbz:" + id);
    else if (RE2::PartialMatch(r, suse, &id)) out.push_back("bsc:" + id);
    else if (RE2::PartialMatch(r, debian, &id)) out.push_back("debbug:" + id);
  }
  return out;
}

KbEntry read_entry(const Reader& reader, const toml::table& t, std::string_view field,
                   KnowledgeBase::Compiled& compiled) {
  check_keys(reader, t, field, {"id", "title", "short", "match", "fix", "carried_by", "references", "advice"});
  KbEntry entry;
  entry.file = reader.file();
  entry.line = t.source().begin.line;
  auto f = [&](std::string_view key) { return fmt::format("{}.{}", field, key); };
  auto required = [&](std::string_view key) -> const toml::node& {
    const toml::node* n = t.get(key);
    if (!n) reader.fail(t.source(), f(key), "missing (required)");
    return *n;
  };
  entry.id = reader.string(required("id"), f("id"));
  if (!valid_id(entry.id))
    reader.fail(t.get("id")->source(), f("id"), "expected letters, digits, '.', '_' or '-' (at most 128)");
  entry.title = reader.string(required("title"), f("title"));
  if (const toml::node* n = t.get("short")) entry.short_name = reader.string(*n, f("short"));
  if (const toml::node* n = t.get("advice")) entry.advice = reader.string(*n, f("advice"));
  if (const toml::node* n = t.get("references")) entry.references = reader.strings(*n, f("references"));
  read_match(reader, reader.table(required("match"), f("match")), f("match"), entry, compiled);
  if (const toml::node* n = t.get("fix")) read_fix(reader, reader.table(*n, f("fix")), f("fix"), entry);
  if (const toml::node* n = t.get("carried_by"))
    read_carried_by(reader, reader.table(*n, f("carried_by")), f("carried_by"), entry);
  if (entry.commit.empty() && entry.fixed_in.empty() && entry.carried_by.empty() && entry.cve.empty())
    reader.fail(t.source(), field, "no fix (give fix.commit, fix.fixed_in, fix.cve or carried_by)");
  if (entry.short_name.empty()) entry.short_name = entry.commit.empty() ? entry.id : entry.commit.substr(0, 7);
  entry.bugs = bugs_of(entry.references);
  return entry;
}

}  // namespace

KnowledgeBase::KnowledgeBase() = default;
KnowledgeBase::~KnowledgeBase() = default;
KnowledgeBase::KnowledgeBase(KnowledgeBase&&) noexcept = default;
KnowledgeBase& KnowledgeBase::operator=(KnowledgeBase&&) noexcept = default;

const std::vector<KbEntry>& KnowledgeBase::entries() const { return entries_; }

const std::vector<std::unique_ptr<KbIndex>>& KnowledgeBase::indexes() const { return indexes_; }

Expected<bool> KnowledgeBase::add_index(const std::filesystem::path& file) {
  Expected<KbIndex> indexOrErr = KbIndex::open(file);
  if (!indexOrErr) return indexOrErr.error();
  indexes_.push_back(std::make_unique<KbIndex>(std::move(*indexOrErr)));
  return true;
}

void KnowledgeBase::absorb(KnowledgeBase&& other) {
  for (size_t i = 0; i < other.entries_.size(); ++i) {
    auto same = std::find_if(entries_.begin(), entries_.end(),
                             [&](const KbEntry& e) { return e.id == other.entries_[i].id; });
    if (same != entries_.end()) {
      size_t at = static_cast<size_t>(same - entries_.begin());
      entries_[at] = std::move(other.entries_[i]);
      compiled_[at] = std::move(other.compiled_[i]);
    } else {
      entries_.push_back(std::move(other.entries_[i]));
      compiled_.push_back(std::move(other.compiled_[i]));
    }
  }
}

Expected<bool> KnowledgeBase::add_toml(std::string_view text, std::string_view name) {
  Reader reader(name);
  std::vector<KbEntry> entries;
  std::vector<std::unique_ptr<Compiled>> compiled;
  try {
    toml::table root;
    try {
      root = toml::parse(text, name);
    } catch (const toml::parse_error& e) {
      throw LoadError{fmt::format("{}:{}:{}: syntax: {}", name, e.source().begin.line, e.source().begin.column,
                                  e.description())};
    }
    check_keys(reader, root, "(top level)", {"bug"});
    const toml::node* bugs = root.get("bug");
    if (!bugs) return true;  // an empty file is fine
    const toml::array* array = bugs->as_array();
    if (!array || !array->is_array_of_tables())
      reader.fail(bugs->source(), "bug", "expected [[bug]] tables");
    std::set<std::string, std::less<>> ids;
    for (size_t i = 0; i < array->size(); ++i) {
      auto c = std::make_unique<Compiled>();
      std::string field = fmt::format("bug[{}]", i);
      KbEntry entry = read_entry(reader, *array->get(i)->as_table(), field, *c);
      if (!ids.insert(entry.id).second)
        reader.fail(array->get(i)->source(), field + ".id", fmt::format("duplicate id \"{}\"", entry.id));
      entries.push_back(std::move(entry));
      compiled.push_back(std::move(c));
    }
  } catch (const LoadError& e) {
    return Error{e.message};
  }
  KnowledgeBase parsed;
  parsed.entries_ = std::move(entries);
  parsed.compiled_ = std::move(compiled);
  absorb(std::move(parsed));
  return true;
}

Expected<bool> KnowledgeBase::add_file(const std::filesystem::path& file) {
  std::error_code ec;
  auto size = std::filesystem::file_size(file, ec);
  if (ec) return Error{fmt::format("{}: {}", file.string(), ec.message())};
  if (size > kMaxFileBytes) return Error{fmt::format("{}: larger than {} bytes", file.string(), kMaxFileBytes)};
  std::ifstream in(file, std::ios::binary);
  if (!in) return Error{fmt::format("{}: cannot open", file.string())};
  std::ostringstream text;
  text << in.rdbuf();
  return add_toml(text.str(), file.string());
}

Expected<KnowledgeBase> KnowledgeBase::load(const std::vector<std::filesystem::path>& dirs) {
  KnowledgeBase kb;
  for (const std::filesystem::path& dir : dirs) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
      return Error{fmt::format("{}: knowledge-base directory not found", dir.string())};
    std::vector<std::filesystem::path> files, indexes;
    for (const auto& item : std::filesystem::directory_iterator(dir, ec)) {
      if (!item.is_regular_file(ec)) continue;
      if (item.path().extension() == ".toml") files.push_back(item.path());
      if (item.path().extension() == ".sqlite") indexes.push_back(item.path());
    }
    if (ec) return Error{fmt::format("{}: {}", dir.string(), ec.message())};
    std::sort(files.begin(), files.end());
    std::sort(indexes.begin(), indexes.end());
    for (const auto& file : indexes)
      if (auto ok = kb.add_index(file); !ok) return ok.error();
    // Ids must be unique within a directory; a later directory may override.
    std::map<std::string, std::string> seen;
    for (const auto& file : files) {
      KnowledgeBase one;
      if (auto ok = one.add_file(file); !ok) return ok.error();
      for (const KbEntry& e : one.entries_) {
        auto [it, fresh] = seen.emplace(e.id, fmt::format("{}:{}", e.file, e.line));
        if (!fresh)
          return Error{fmt::format("{}:{}:1: bug.id: duplicate id \"{}\" (first at {})", e.file, e.line, e.id, it->second)};
      }
      kb.absorb(std::move(one));
    }
  }
  if (auto ok = kb.resolve_cves(); !ok) return ok.error();
  return kb;
}

Expected<bool> KnowledgeBase::resolve_cves() {
  // A hand-written entry naming a CVE takes the fix facts it does not state
  // from the record in the indexes.
  for (KbEntry& e : entries_) {
    if (e.cve.empty() || !e.stable_fixes.empty()) continue;
    std::optional<KbEntry> record;
    for (auto it = indexes_.rbegin(); it != indexes_.rend() && !record; ++it) record = (*it)->entry(e.cve);
    if (!record)
      return Error{fmt::format("{}:{}:1: bug.fix.cve: {} is in no loaded index (data/kb/*.sqlite, --kb)", e.file, e.line,
                               e.cve)};
    if (e.commit.empty()) e.commit = record->commit;
    if (e.subject.empty()) e.subject = record->subject;
    if (e.fixed_in.empty()) e.fixed_in = record->fixed_in;
    if (e.introduced_in.empty()) e.introduced_in = record->introduced_in;
    if (e.introduced_commit.empty()) e.introduced_commit = record->introduced_commit;
    e.stable_fixes = record->stable_fixes;
    e.stable_affected = record->stable_affected;
    e.stable_commits = record->stable_commits;
    if (e.references.empty()) e.references = record->references;
    if (e.short_name == e.commit.substr(0, 7) || e.short_name == e.id) e.short_name = e.cve;
  }
  return true;
}

std::filesystem::path default_kb_dir() {
  if (const char* env = std::getenv("KTRIAGE_KB_DIR"); env && *env) return env;
  return KTRIAGE_KB_DIR;
}

}  // namespace ktriage
