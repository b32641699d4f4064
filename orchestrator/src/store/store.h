// SQLite history (thread-safe): every build, boot and trial is written as it happens, so a
// killed bisection or CI run loses nothing and a resumed one replays the
// evidence instead of re-running it.
#pragma once
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "record/records.h"

struct sqlite3;

namespace rb::store {

// Per-commit evidence, aggregated from recorded trials.
struct CommitEvidence {
  std::string commit;
  int trials = 0;    // pass + fail
  int failures = 0;  // target-signature failures only
  int other = 0;     // crashes/hangs/infra/boot failures and non-matching failures
  int builds = 0;    // successful builds recorded for this commit
  bool build_failed = false;
  std::string bzimage_sha256;
};

class Store {
 public:
  explicit Store(const std::filesystem::path& db);  // creates the schema if needed
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // A session groups runs: a bisection, a reproduce, a nightly comparison.
  // Returns the id of the existing session with this key, or a new one.
  int64_t session(const std::string& key, const std::string& kind, const std::string& meta_json);
  std::optional<std::string> session_meta(int64_t session);

  void record_build(int64_t session, const std::string& commit, const std::string& label, const std::string& key,
                    bool ok, double seconds, bool cache_hit, const std::string& bzimage_sha256,
                    const std::string& error);
  // Records the boot and its trials in one transaction (all or nothing, so a
  // kill mid-write never leaves half a boot).
  int64_t record_boot(int64_t session, const std::string& commit, const record::BootRecord& boot);
  // Records one decision/log line (for `bisect --log`).
  void record_event(int64_t session, const std::string& text);

  std::vector<CommitEvidence> evidence(int64_t session);  // one entry per commit, unordered
  std::vector<std::pair<std::string, std::string>> events(int64_t session);  // (time, text)

  // Per-boot and per-build rows for a bisection's evidence log (bisect/store_log.h).
  struct BootCounts {
    std::string commit;
    int64_t boot = 0;
    std::string outcome, detail;
    int passes = 0, fails = 0;
    int crash_trials = 0;  // failures recorded for a crash matching the signature
  };
  std::vector<BootCounts> boot_counts(int64_t session, const std::string& commit = {});  // in recording order
  struct BuildRow {
    std::string commit;
    bool ok = false;
    std::string bzimage_sha256;
  };
  std::vector<BuildRow> build_rows(int64_t session, const std::string& commit = {});  // in recording order

 private:
  void exec(const std::string& sql);
  sqlite3* db_ = nullptr;
  // One connection shared by parallel bisect slots: its transactions must
  // not interleave (BEGIN inside another thread's BEGIN fails).
  std::recursive_mutex mu_;
};

}  // namespace rb::store
