// The SQLite layout of an imported index (lib/kb internal; docs/kb.md
// describes it for people reading a file with the sqlite3 shell).
#pragma once

namespace ktriage::kb {

// Lists are space-separated text; a signature's columns are NULL when the
// record quotes no crash.
inline constexpr const char* kIndexSchemaSql = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE entry(
  row INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  subject TEXT NOT NULL,
  fix_commit TEXT NOT NULL,
  fixed_in TEXT NOT NULL,
  introduced_in TEXT NOT NULL,
  introduced_commit TEXT NOT NULL,
  stable_fixes TEXT NOT NULL,
  stable_affected TEXT NOT NULL,
  stable_commits TEXT NOT NULL,
  kind TEXT, type TEXT, title TEXT, frame TEXT, module TEXT, frames TEXT);
CREATE INDEX entry_title ON entry(title);
CREATE INDEX entry_frame ON entry(frame);
CREATE TABLE sig_frame(name TEXT NOT NULL, row INTEGER NOT NULL, PRIMARY KEY(name, row)) WITHOUT ROWID;
CREATE TABLE frame_df(name TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE distro_release(line TEXT NOT NULL, branch TEXT NOT NULL, version TEXT NOT NULL, source TEXT NOT NULL,
  PRIMARY KEY(line, branch, version)) WITHOUT ROWID;
CREATE TABLE distro_fix(key TEXT NOT NULL, line TEXT NOT NULL, branch TEXT NOT NULL, version TEXT NOT NULL,
  PRIMARY KEY(key, line, branch, version)) WITHOUT ROWID;
)sql";

}  // namespace ktriage::kb
