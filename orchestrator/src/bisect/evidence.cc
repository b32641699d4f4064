#include "bisect/evidence.h"

namespace rb::bisect {

int CommitEvidence::trials() const {
  int n = 0;
  for (const auto& b : boots) n += b.trials;
  return n;
}

int CommitEvidence::failures() const {
  int n = 0;
  for (const auto& b : boots) n += b.failures;
  return n;
}

int CommitEvidence::empty_boots() const {
  int n = 0;
  for (const auto& b : boots) n += b.trials == 0;
  return n;
}

int CommitEvidence::other_crashes() const {
  int n = 0;
  for (const auto& b : boots) n += b.other_crash;
  return n;
}

CommitEvidence& MemoryEvidenceLog::at(const std::string& commit) {
  auto [it, fresh] = by_commit_.try_emplace(commit);
  if (fresh) {
    it->second.commit = commit;
    order_.push_back(commit);
  }
  return it->second;
}

void MemoryEvidenceLog::record_build(const std::string& commit, bool ok, const std::string& kernel_sha256) {
  std::lock_guard lock(mu_);
  CommitEvidence& e = at(commit);
  if (ok) ++e.builds, e.kernel_sha256 = kernel_sha256;
  else ++e.build_failures;
}

void MemoryEvidenceLog::record_boot(const std::string& commit, const BootEvidence& boot) {
  std::lock_guard lock(mu_);
  at(commit).boots.push_back(boot);
}

std::vector<CommitEvidence> MemoryEvidenceLog::evidence() {
  std::lock_guard lock(mu_);
  std::vector<CommitEvidence> out;
  for (const auto& c : order_) out.push_back(by_commit_.at(c));
  return out;
}

CommitEvidence MemoryEvidenceLog::evidence(const std::string& commit) {
  std::lock_guard lock(mu_);
  auto it = by_commit_.find(commit);
  if (it != by_commit_.end()) return it->second;
  CommitEvidence e;
  e.commit = commit;
  return e;
}

void MemoryEvidenceLog::record_event(const std::string& json) {
  std::lock_guard lock(mu_);
  events_.push_back(json);
}

std::vector<std::string> MemoryEvidenceLog::events() {
  std::lock_guard lock(mu_);
  return events_;
}

}  // namespace rb::bisect
