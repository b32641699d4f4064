#include "bisect/store_log.h"

#include <map>

namespace rb::bisect {

std::vector<CommitEvidence> StoreEvidenceLog::query(const std::string& commit) {
  std::map<std::string, CommitEvidence> by;
  std::vector<std::string> order;
  auto at = [&](const std::string& c) -> CommitEvidence& {
    auto [it, fresh] = by.try_emplace(c);
    if (fresh) it->second.commit = c, order.push_back(c);
    return it->second;
  };
  for (const auto& b : db_.build_rows(session_, commit)) {
    CommitEvidence& e = at(b.commit);
    if (b.ok) ++e.builds, e.kernel_sha256 = b.bzimage_sha256;
    else ++e.build_failures;
  }
  for (const auto& b : db_.boot_counts(session_, commit)) {
    BootEvidence boot{b.passes + b.fails, b.fails, b.outcome == "crash" && b.crash_trials == 0, {}};
    if (boot.other_crash) boot.other_title = b.detail;
    at(b.commit).boots.push_back(boot);
  }
  std::vector<CommitEvidence> out;
  for (const auto& c : order) out.push_back(std::move(by[c]));
  return out;
}

std::vector<CommitEvidence> StoreEvidenceLog::evidence() { return query({}); }

CommitEvidence StoreEvidenceLog::evidence(const std::string& commit) {
  auto v = query(commit);
  if (!v.empty()) return v.front();
  CommitEvidence e;
  e.commit = commit;
  return e;
}

std::vector<std::string> StoreEvidenceLog::events() {
  std::vector<std::string> out;
  for (auto& [at, text] : db_.events(session_)) out.push_back(std::move(text));
  return out;
}

}  // namespace rb::bisect
