// What a bisection knows, as the driver sees it: per commit, its builds and
// per-boot counts. The driver reaches stored evidence only through this
// narrow log, implemented once over the SQLite store (store_log.h) and once
// in memory (the simulator and the tests), so the simulator runs exactly
// the code users run.
#pragma once
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace rb::bisect {

struct BootEvidence {
  int trials = 0, failures = 0;  // target failures only
  bool other_crash = false;      // the boot crashed with a title that is not the target's
  std::string other_title;
};

struct CommitEvidence {
  std::string commit;
  std::vector<BootEvidence> boots;  // in recording order
  int builds = 0, build_failures = 0;
  std::string kernel_sha256;  // of the last successful build
  int trials() const;
  int failures() const;
  int empty_boots() const;  // boots that yielded no trial
  int other_crashes() const;
};

class EvidenceLog {
 public:
  virtual ~EvidenceLog() = default;
  virtual std::vector<CommitEvidence> evidence() = 0;  // every commit with anything recorded
  virtual CommitEvidence evidence(const std::string& commit) = 0;
  // Bisection events, one JSON object each (steps and notes), in order.
  virtual void record_event(const std::string& json) = 0;
  virtual std::vector<std::string> events() = 0;
};

// Thread-safe: parallel slots record side by side.
class MemoryEvidenceLog : public EvidenceLog {
 public:
  void record_build(const std::string& commit, bool ok, const std::string& kernel_sha256);
  void record_boot(const std::string& commit, const BootEvidence& boot);
  std::vector<CommitEvidence> evidence() override;
  CommitEvidence evidence(const std::string& commit) override;
  void record_event(const std::string& json) override;
  std::vector<std::string> events() override;

 private:
  CommitEvidence& at(const std::string& commit);
  std::mutex mu_;
  std::map<std::string, CommitEvidence> by_commit_;
  std::vector<std::string> order_, events_;
};

}  // namespace rb::bisect
