#include "store/store.h"

#include <sqlite3.h>

#include <map>

#include "store/sqlite.h"
#include "util/error.h"

namespace rb::store {

namespace {

using sqlite::db_error;
using sqlite::Stmt;

const char* kRunsSchema = R"(
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
CREATE TABLE IF NOT EXISTS sessions(id INTEGER PRIMARY KEY, key TEXT UNIQUE, kind TEXT, meta TEXT,
  created TEXT DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE IF NOT EXISTS builds(id INTEGER PRIMARY KEY, session INTEGER, commit_id TEXT, label TEXT, key TEXT,
  ok INTEGER, seconds REAL, cache_hit INTEGER, bzimage_sha256 TEXT, error TEXT, at TEXT DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE IF NOT EXISTS boots(id INTEGER PRIMARY KEY, session INTEGER, commit_id TEXT, label TEXT, idx INTEGER,
  outcome TEXT, detail TEXT, vm_end TEXT, seconds REAL, console_log TEXT, at TEXT DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE IF NOT EXISTS trials(boot INTEGER, n INTEGER, outcome TEXT, events INTEGER, bogus INTEGER,
  ms INTEGER, first_bogus_ms INTEGER, reason TEXT);
CREATE TABLE IF NOT EXISTS events(id INTEGER PRIMARY KEY, session INTEGER, text TEXT,
  at TEXT DEFAULT CURRENT_TIMESTAMP);
CREATE INDEX IF NOT EXISTS boots_by_session ON boots(session, commit_id);
CREATE INDEX IF NOT EXISTS trials_by_boot ON trials(boot);
)";

}  // namespace

Store::Store(const std::filesystem::path& db) {
  if (db.has_parent_path()) std::filesystem::create_directories(db.parent_path());
  if (sqlite3_open(db.c_str(), &db_) != SQLITE_OK) {
    const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw infra_error("cannot open history database " + db.string() + ": " + msg);
  }
  sqlite3_busy_timeout(db_, 10000);
  try {
    exec(kRunsSchema);
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
}

Store::~Store() { sqlite3_close(db_); }

void Store::exec(const std::string& sql) { sqlite::exec(db_, sql); }

int64_t Store::session(const std::string& key, const std::string& kind, const std::string& meta_json) {
  std::lock_guard lock(mu_);
  // One write transaction, so two processes asking for the same key cannot
  // both see "none" and then collide on the UNIQUE key.
  exec("BEGIN IMMEDIATE");
  try {
    Stmt ins(db_, "INSERT OR IGNORE INTO sessions(key, kind, meta) VALUES(?,?,?)");
    ins.bind(1, key).bind(2, kind).bind(3, meta_json);
    ins.step();
    Stmt find(db_, "SELECT id FROM sessions WHERE key=?");
    find.bind(1, key);
    if (!find.step()) throw db_error(db_, "session " + key + " vanished");
    const int64_t id = find.i64(0);
    exec("COMMIT");
    return id;
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

std::optional<std::string> Store::session_meta(int64_t session) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "SELECT meta FROM sessions WHERE id=?");
  s.bind(1, session);
  if (s.step()) return s.text(0);
  return std::nullopt;
}

void Store::record_build(int64_t session, const std::string& commit, const std::string& label, const std::string& key,
                         bool ok, double seconds, bool cache_hit, const std::string& sha, const std::string& error) {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         "INSERT INTO builds(session, commit_id, label, key, ok, seconds, cache_hit, bzimage_sha256, error) "
         "VALUES(?,?,?,?,?,?,?,?,?)");
  s.bind(1, session).bind(2, commit).bind(3, label).bind(4, key).bind(5, int64_t(ok)).bind(6, seconds);
  s.bind(7, int64_t(cache_hit)).bind(8, sha).bind(9, error);
  s.step();
}

int64_t Store::record_boot(int64_t session, const std::string& commit, const record::BootRecord& b) {
  std::lock_guard lock(mu_);
  exec("BEGIN IMMEDIATE");
  try {
    Stmt s(db_,
           "INSERT INTO boots(session, commit_id, label, idx, outcome, detail, vm_end, seconds, console_log) "
           "VALUES(?,?,?,?,?,?,?,?,?)");
    s.bind(1, session).bind(2, commit).bind(3, b.kernel_label).bind(4, int64_t(b.index));
    s.bind(5, std::string(record::to_string(b.outcome))).bind(6, b.detail).bind(7, std::string(vm::to_string(b.end)));
    s.bind(8, b.seconds).bind(9, b.console_log.string());
    s.step();
    int64_t id = sqlite3_last_insert_rowid(db_);
    for (const auto& t : b.trials) {
      Stmt ts(db_, "INSERT INTO trials(boot, n, outcome, events, bogus, ms, first_bogus_ms, reason) VALUES(?,?,?,?,?,?,?,?)");
      ts.bind(1, id).bind(2, int64_t(t.number)).bind(3, std::string(record::to_string(t.outcome)));
      ts.bind(4, int64_t(t.events)).bind(5, int64_t(t.bogus)).bind(6, int64_t(t.ms)).bind(7, int64_t(t.first_bogus_ms));
      ts.bind(8, t.reason);
      ts.step();
    }
    exec("COMMIT");
    return id;
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);  // keep the first error
    throw;
  }
}

void Store::record_event(int64_t session, const std::string& text) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "INSERT INTO events(session, text) VALUES(?,?)");
  s.bind(1, session).bind(2, text);
  s.step();
}

std::vector<CommitEvidence> Store::evidence(int64_t session) {
  std::lock_guard lock(mu_);
  std::map<std::string, CommitEvidence> by;
  std::vector<std::string> order;
  auto get = [&](const std::string& c) -> CommitEvidence& {
    auto [it, fresh] = by.try_emplace(c);
    if (fresh) {
      it->second.commit = c;
      order.push_back(c);
    }
    return it->second;
  };
  {
    Stmt s(db_, "SELECT commit_id, ok, bzimage_sha256 FROM builds WHERE session=? ORDER BY id");
    s.bind(1, session);
    while (s.step()) {
      auto& e = get(s.text(0));
      if (s.i64(1)) {
        ++e.builds;
        e.bzimage_sha256 = s.text(2);
      } else {
        e.build_failed = true;
      }
    }
  }
  {
    Stmt s(db_,
           "SELECT b.commit_id, t.outcome, COUNT(*) FROM trials t JOIN boots b ON t.boot=b.id "
           "WHERE b.session=? GROUP BY b.commit_id, t.outcome");
    s.bind(1, session);
    while (s.step()) {
      auto& e = get(s.text(0));
      const std::string o = s.text(1);
      const int n = static_cast<int>(s.i64(2));
      if (o == "pass") e.trials += n;
      else if (o == "fail") e.trials += n, e.failures += n;
      else e.other += n;
    }
  }
  {
    // Boots that ended abnormally count as "other" evidence (never pass/fail).
    Stmt s(db_, "SELECT commit_id, COUNT(*) FROM boots WHERE session=? AND outcome NOT IN ('pass','fail') "
                "GROUP BY commit_id");
    s.bind(1, session);
    while (s.step()) get(s.text(0)).other += static_cast<int>(s.i64(1));
  }
  std::vector<CommitEvidence> out;
  for (auto& c : order) out.push_back(by[c]);
  return out;
}

std::vector<std::pair<std::string, std::string>> Store::events(int64_t session) {
  std::lock_guard lock(mu_);
  std::vector<std::pair<std::string, std::string>> out;
  Stmt s(db_, "SELECT at, text FROM events WHERE session=? ORDER BY id");
  s.bind(1, session);
  while (s.step()) out.push_back({s.text(0), s.text(1)});
  return out;
}

std::vector<Store::BootCounts> Store::boot_counts(int64_t session, const std::string& commit) {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         "SELECT b.commit_id, b.id, b.outcome, b.detail, "
         "COALESCE(SUM(t.outcome='pass'),0), COALESCE(SUM(t.outcome='fail'),0), "
         "COALESCE(SUM(t.outcome='fail' AND t.reason LIKE 'crash:%'),0) "
         "FROM boots b LEFT JOIN trials t ON t.boot=b.id WHERE b.session=? AND (?='' OR b.commit_id=?) "
         "GROUP BY b.id ORDER BY b.id");
  s.bind(1, session).bind(2, commit).bind(3, commit);
  std::vector<BootCounts> out;
  while (s.step())
    out.push_back({s.text(0), s.i64(1), s.text(2), s.text(3), static_cast<int>(s.i64(4)), static_cast<int>(s.i64(5)),
                   static_cast<int>(s.i64(6))});
  return out;
}

std::vector<Store::BuildRow> Store::build_rows(int64_t session, const std::string& commit) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "SELECT commit_id, ok, bzimage_sha256 FROM builds WHERE session=? AND (?='' OR commit_id=?) ORDER BY id");
  s.bind(1, session).bind(2, commit).bind(3, commit);
  std::vector<BuildRow> out;
  while (s.step()) out.push_back({s.text(0), s.i64(1) != 0, s.text(2)});
  return out;
}

}  // namespace rb::store
