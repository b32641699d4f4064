// The evidence log of a bisection kept in the SQLite store: one session's
// builds, boots and events. What a boot means for the bisection: its pass
// and fail trials (a crash matching --signature is recorded as a fail
// trial), and whether it crashed with another title ("other crash").
#pragma once
#include "bisect/evidence.h"
#include "store/store.h"

namespace rb::bisect {

class StoreEvidenceLog : public EvidenceLog {
 public:
  StoreEvidenceLog(store::Store& db, int64_t session) : db_(db), session_(session) {}
  std::vector<CommitEvidence> evidence() override;
  CommitEvidence evidence(const std::string& commit) override;
  void record_event(const std::string& json) override { db_.record_event(session_, json); }
  std::vector<std::string> events() override;

 private:
  std::vector<CommitEvidence> query(const std::string& commit);
  store::Store& db_;
  int64_t session_;
};

}  // namespace rb::bisect
