#include "store/history.h"

#include <sqlite3.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "store/sqlite.h"
#include "util/error.h"

namespace rb::store {

namespace {

using sqlite::Stmt;

// Version 1 of these tables; a database written by a newer racebisect is
// refused rather than misread.
constexpr int kHistorySchemaVersion = 1;

const char* kHistorySchema = R"(
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
PRAGMA foreign_keys=ON;
CREATE TABLE IF NOT EXISTS history_schema(version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS nights(id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, host TEXT, qemu_version TEXT,
  accelerator TEXT, matrix TEXT, seconds REAL, pinned INTEGER NOT NULL DEFAULT 0,
  recorded_at TEXT DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE IF NOT EXISTS night_cells(id INTEGER PRIMARY KEY, night INTEGER NOT NULL REFERENCES nights(id),
  cell TEXT NOT NULL, kernel_label TEXT, variant TEXT, source TEXT, patches TEXT, config_sha256 TEXT,
  bzimage_sha256 TEXT, boots INTEGER, trials INTEGER, failures INTEGER, infra_errors INTEGER, crashes INTEGER,
  boot_failures INTEGER, hangs INTEGER, exposure_s REAL, seconds REAL, build_error TEXT, UNIQUE(night, cell));
CREATE TABLE IF NOT EXISTS night_boots(cell INTEGER NOT NULL REFERENCES night_cells(id), idx INTEGER, outcome TEXT,
  trials INTEGER, failures INTEGER, exposure_s REAL, console_log TEXT, detail TEXT, oops_excerpt TEXT);
CREATE INDEX IF NOT EXISTS nights_by_time ON nights(matrix, started_at);
CREATE INDEX IF NOT EXISTS night_cells_by_cell ON night_cells(cell, night);
CREATE INDEX IF NOT EXISTS night_boots_by_cell ON night_boots(cell);
)";

// Nights in time order: by start, then by id for two nights started in the same second.
constexpr const char* kDateFilter =
    "(?1 = '' OR n.started_at >= ?1) AND (?2 = '' OR substr(n.started_at, 1, length(?2)) <= ?2)";

NightInfo read_info(Stmt& s) {
  NightInfo i;
  i.id = s.i64(0);
  i.started_at = s.text(1);
  i.host = s.text(2);
  i.qemu_version = s.text(3);
  i.accelerator = s.text(4);
  i.matrix = s.text(5);
  i.seconds = s.f64(6);
  i.pinned = s.i64(7) != 0;
  return i;
}

}  // namespace

void check_date_filter(const std::string& s, const char* what) {
  static const std::regex iso(R"(\d{4}(-\d{2}(-\d{2}(T\d{2}(:\d{2}(:\d{2}Z?)?)?)?)?)?)");
  if (!s.empty() && !std::regex_match(s, iso))
    throw usage_error(std::string(what) + " '" + s + "' is not an ISO 8601 date (YYYY-MM-DD[THH:MM:SSZ])");
}

History::History(const std::filesystem::path& db) {
  if (db.has_parent_path()) std::filesystem::create_directories(db.parent_path());
  if (sqlite3_open(db.c_str(), &db_) != SQLITE_OK) {
    std::string msg = sqlite3_errmsg(db_);
    sqlite3_close(db_);
    throw infra_error("cannot open history database " + db.string() + ": " + msg);
  }
  // A constructor that throws runs no destructor: close the handle here
  // (after the statement is gone, or sqlite3_close refuses).
  try {
    sqlite3_busy_timeout(db_, 10000);
    exec(kHistorySchema);
    const int64_t found = [&] {
      Stmt v(db_, "SELECT max(version) FROM history_schema");
      return v.step() ? v.i64(0) : int64_t{0};
    }();
    if (found == 0) exec("INSERT INTO history_schema(version) VALUES(" + std::to_string(kHistorySchemaVersion) + ")");
    else if (found > kHistorySchemaVersion)
      throw infra_error("history database " + db.string() + " has schema version " + std::to_string(found) +
                        ", newer than this racebisect understands (" + std::to_string(kHistorySchemaVersion) + ")");
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
}

History::~History() { sqlite3_close(db_); }

void History::exec(const std::string& sql) { sqlite::exec(db_, sql); }

int64_t History::record_night(const record::Night& n) {
  if (n.started_at.empty()) throw usage_error("history: a night needs its start time");
  check_date_filter(n.started_at, "night start time");
  std::set<std::string> names;
  for (const auto& c : n.cells)
    if (!names.insert(c.cell).second) throw usage_error("history: cell '" + c.cell + "' appears twice in one night");
  std::lock_guard lock(mu_);
  exec("BEGIN IMMEDIATE");
  try {
    Stmt ns(db_, "INSERT INTO nights(started_at, host, qemu_version, accelerator, matrix, seconds) VALUES(?,?,?,?,?,?)");
    ns.bind(1, n.started_at).bind(2, n.host).bind(3, n.qemu_version).bind(4, n.accelerator).bind(5, n.matrix);
    ns.bind(6, n.seconds).step();
    const int64_t id = sqlite3_last_insert_rowid(db_);
    for (const auto& c : n.cells) {
      Stmt cs(db_,
              "INSERT INTO night_cells(night, cell, kernel_label, variant, source, patches, config_sha256, "
              "bzimage_sha256, boots, trials, failures, infra_errors, crashes, boot_failures, hangs, exposure_s, "
              "seconds, build_error) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
      cs.bind(1, id).bind(2, c.cell).bind(3, c.kernel_label).bind(4, c.variant).bind(5, c.kernel.source);
      cs.bind(6, nlohmann::json(c.kernel.patches).dump()).bind(7, c.kernel.config_sha256);
      cs.bind(8, c.kernel.bzimage_sha256).bind(9, c.boots).bind(10, c.trials).bind(11, c.failures);
      cs.bind(12, c.infra_errors).bind(13, c.crashes).bind(14, c.boot_failures).bind(15, c.hangs);
      cs.bind(16, c.exposure_s).bind(17, c.seconds).bind(18, c.build_error).step();
      const int64_t cell_row = sqlite3_last_insert_rowid(db_);
      for (const auto& b : c.boot_list) {
        Stmt bs(db_,
                "INSERT INTO night_boots(cell, idx, outcome, trials, failures, exposure_s, console_log, detail, "
                "oops_excerpt) VALUES(?,?,?,?,?,?,?,?,?)");
        bs.bind(1, cell_row).bind(2, b.index).bind(3, b.outcome).bind(4, b.trials).bind(5, b.failures);
        bs.bind(6, b.exposure_s).bind(7, b.console_log).bind(8, b.detail).bind(9, b.oops_excerpt).step();
      }
    }
    exec("COMMIT");
    return id;
  } catch (...) {
    exec("ROLLBACK");
    throw;
  }
}

record::CellResult History::read_cell(int64_t row) {
  Stmt s(db_,
         "SELECT cell, kernel_label, variant, source, patches, config_sha256, bzimage_sha256, boots, trials, failures, "
         "infra_errors, crashes, boot_failures, hangs, exposure_s, seconds, build_error FROM night_cells WHERE id = ?");
  s.bind(1, row);
  if (!s.step()) throw infra_error("history: cell row " + std::to_string(row) + " vanished");
  record::CellResult c;
  c.cell = s.text(0);
  c.kernel_label = s.text(1);
  c.variant = s.text(2);
  c.kernel.source = s.text(3);
  c.kernel.patches = nlohmann::json::parse(s.text(4)).get<std::vector<std::string>>();
  c.kernel.config_sha256 = s.text(5);
  c.kernel.bzimage_sha256 = s.text(6);
  c.boots = s.i32(7);
  c.trials = s.i32(8);
  c.failures = s.i32(9);
  c.infra_errors = s.i32(10);
  c.crashes = s.i32(11);
  c.boot_failures = s.i32(12);
  c.hangs = s.i32(13);
  c.exposure_s = s.f64(14);
  c.seconds = s.f64(15);
  c.build_error = s.text(16);
  Stmt b(db_,
         "SELECT idx, outcome, trials, failures, exposure_s, console_log, detail, oops_excerpt FROM night_boots "
         "WHERE cell = ? ORDER BY idx, rowid");
  b.bind(1, row);
  while (b.step())
    c.boot_list.push_back({b.i32(0), b.text(1), b.i32(2), b.i32(3), b.f64(4), b.text(5), b.text(6), b.text(7)});
  return c;
}

std::optional<record::Night> History::night(int64_t id) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "SELECT id, started_at, host, qemu_version, accelerator, matrix, seconds, pinned FROM nights WHERE id = ?");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  const NightInfo i = read_info(s);
  record::Night n{i.id, i.started_at, i.host, i.qemu_version, i.accelerator, i.matrix, i.seconds, {}};
  Stmt cells(db_, "SELECT id FROM night_cells WHERE night = ? ORDER BY id");
  cells.bind(1, id);
  while (cells.step()) n.cells.push_back(read_cell(cells.i64(0)));
  return n;
}

std::optional<int64_t> History::latest(const std::string& matrix) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "SELECT id FROM nights WHERE (?1 = '' OR matrix = ?1) ORDER BY started_at DESC, id DESC LIMIT 1");
  s.bind(1, matrix);
  if (!s.step()) return std::nullopt;
  return s.i64(0);
}

std::optional<int64_t> History::previous(int64_t id) {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         "SELECT p.id FROM nights n JOIN nights p ON p.matrix IS n.matrix AND "
         "(p.started_at < n.started_at OR (p.started_at = n.started_at AND p.id < n.id)) "
         "WHERE n.id = ? ORDER BY p.started_at DESC, p.id DESC LIMIT 1");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return s.i64(0);
}

void History::pin(int64_t id) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "SELECT 1 FROM nights WHERE id = ?");
  s.bind(1, id);
  if (!s.step()) throw usage_error("history: no night with id " + std::to_string(id) + " to pin");
  Stmt u(db_, "UPDATE nights SET pinned = (id = ?)");
  u.bind(1, id).step();
}

std::optional<int64_t> History::pinned() {
  std::lock_guard lock(mu_);
  Stmt s(db_, "SELECT id FROM nights WHERE pinned = 1 LIMIT 1");
  if (!s.step()) return std::nullopt;
  return s.i64(0);
}

int64_t History::resolve(const std::string& ref) {
  auto need = [&](std::optional<int64_t> id, const std::string& why) {
    if (!id) throw usage_error("baseline '" + ref + "': " + why);
    return *id;
  };
  if (ref == "pinned") return need(pinned(), "no night is pinned");
  if (ref == "latest") return need(latest(), "the history has no night");
  if (ref == "previous") return need(previous(need(latest(), "the history has no night")), "only one night recorded");
  static const std::regex number(R"([1-9][0-9]{0,17})");
  if (!std::regex_match(ref, number))
    throw usage_error("baseline '" + ref + "' is not a night id, 'pinned', 'latest' or 'previous'");
  const int64_t id = std::stoll(ref);
  std::lock_guard lock(mu_);
  Stmt s(db_, "SELECT 1 FROM nights WHERE id = ?");
  s.bind(1, id);
  if (!s.step()) throw usage_error("baseline '" + ref + "': no such night in the history");
  return id;
}

std::vector<NightInfo> History::nights(const std::string& from, const std::string& to) {
  check_date_filter(from, "--from");
  check_date_filter(to, "--to");
  std::lock_guard lock(mu_);
  Stmt s(db_, (std::string("SELECT n.id, n.started_at, n.host, n.qemu_version, n.accelerator, n.matrix, n.seconds, "
                           "n.pinned, count(c.id), count(CASE WHEN c.failures > 0 THEN 1 END) FROM nights n "
                           "LEFT JOIN night_cells c ON c.night = n.id WHERE ") +
                   kDateFilter + " GROUP BY n.id ORDER BY n.started_at DESC, n.id DESC")
                  .c_str());
  s.bind(1, from).bind(2, to);
  std::vector<NightInfo> out;
  while (s.step()) {
    NightInfo i = read_info(s);
    i.cells = s.i32(8);
    i.failing_cells = s.i32(9);
    out.push_back(i);
  }
  return out;
}

std::vector<CellPoint> History::cell_history(const std::string& cell, const std::string& from, const std::string& to) {
  check_date_filter(from, "--from");
  check_date_filter(to, "--to");
  std::lock_guard lock(mu_);
  Stmt s(db_, (std::string("SELECT n.id, n.started_at, c.id FROM night_cells c JOIN nights n ON n.id = c.night "
                           "WHERE c.cell = ?3 AND ") +
                   kDateFilter + " ORDER BY n.started_at, n.id")
                  .c_str());
  s.bind(1, from).bind(2, to).bind(3, cell);
  std::vector<std::pair<std::pair<int64_t, std::string>, int64_t>> rows;
  while (s.step()) rows.push_back({{s.i64(0), s.text(1)}, s.i64(2)});
  std::vector<CellPoint> out;
  for (const auto& [night, row] : rows) out.push_back({night.first, night.second, read_cell(row)});
  return out;
}

std::vector<std::string> History::cell_names() {
  std::lock_guard lock(mu_);
  Stmt s(db_, "SELECT DISTINCT cell FROM night_cells ORDER BY cell");
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.text(0));
  return out;
}

}  // namespace rb::store
