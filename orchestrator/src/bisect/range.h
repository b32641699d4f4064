// The commits a bisection searches, in search order: position 0 is the end
// known to be "old" (no race; or, with --fix, still broken), the last is the
// "new" end. Merges follow git's ancestry: every commit that is a descendant
// of old and an ancestor of new, in topological order.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace rb::bisect {

struct CommitRange {
  std::vector<std::string> commits;  // full shas; [0] = old end, back() = new end
  std::vector<std::string> subjects; // one-line subjects, same order
};

// Throws rb::Error(Usage) for unknown commits or if `old_end` is not an
// ancestor of `new_end`.
CommitRange commit_range(const std::filesystem::path& repo, const std::string& old_end, const std::string& new_end);

// The posterior's model: position 0 never fails, and commit m fails iff
// m >= culprit. A fix search has the opposite shape (the old end fails, the
// race disappears at the fix), so it runs on the reversed range; these
// helpers map between range positions and model positions.
struct ModelMap {
  int n = 0;
  bool fix = false;
  int to_model(int pos) const { return fix ? n - 1 - pos : pos; }
  int to_range(int model) const { return fix ? n - 1 - model : model; }
  // The commit that changed behaviour, given the model's culprit index
  // (first failing commit in model order).
  int culprit_position(int model_culprit) const { return fix ? to_range(model_culprit) + 1 : model_culprit; }
};

}  // namespace rb::bisect
