// Nightly history in SQLite: one row per night (run of the matrix), one per
// cell, one per boot, written in a single transaction so a killed nightly
// leaves either the whole night or none of it. Lives in the same database
// file as the bisection store (its own tables), so one `history.db` holds
// everything a CI machine has measured.
#pragma once
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "record/night.h"

struct sqlite3;

namespace rb::store {

struct NightInfo {
  int64_t id = 0;
  std::string started_at, host, qemu_version, accelerator, matrix;
  double seconds = 0;
  bool pinned = false;
  int cells = 0, failing_cells = 0;  // failing: at least one failure
};

struct CellPoint {
  int64_t night_id = 0;
  std::string started_at;
  record::CellResult cell;
};

class History {
 public:
  explicit History(const std::filesystem::path& db);  // creates the tables if needed
  ~History();
  History(const History&) = delete;
  History& operator=(const History&) = delete;

  // Records the night with its cells and boots; returns its id. A night
  // without started_at, or with two cells of one name, is a usage error.
  int64_t record_night(const record::Night& night);

  std::optional<record::Night> night(int64_t id);
  std::optional<int64_t> latest(const std::string& matrix = "");
  // The night started just before `id` with the same matrix: the default
  // baseline of `nightly` and `compare`.
  std::optional<int64_t> previous(int64_t id);
  // One pinned baseline at a time; pinning an unknown id is a usage error.
  void pin(int64_t id);
  std::optional<int64_t> pinned();
  // "pinned", "latest", "previous" (before the latest) or a night id, as a
  // user types it after --baseline; an unknown or malformed one is a usage
  // error naming it.
  int64_t resolve(const std::string& ref);

  // Nights whose start lies in [from, to], newest first. from/to are ISO
  // 8601 prefixes ("2026-11", "2026-11-25", "2026-11-25T02:00:00Z"): a bare
  // date as `to` includes that whole day. Empty means unbounded.
  std::vector<NightInfo> nights(const std::string& from = "", const std::string& to = "");
  // One cell night by night, oldest first, same date filter.
  std::vector<CellPoint> cell_history(const std::string& cell, const std::string& from = "", const std::string& to = "");
  // Every cell name ever recorded, sorted.
  std::vector<std::string> cell_names();

 private:
  void exec(const std::string& sql);
  record::CellResult read_cell(int64_t cell_row);
  sqlite3* db_ = nullptr;
  std::recursive_mutex mu_;
};

// Usage error unless s is an ISO 8601 date/time prefix as accepted above.
void check_date_filter(const std::string& s, const char* what);

}  // namespace rb::store
