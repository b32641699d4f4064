// The commits a bisection searches, as `git bisect` sees them: every commit
// reachable from the new end but not from the old end (`git rev-list NEW
// ^OLD`), plus the old end as node 0, in topological order with their
// parents -- a DAG, never flattened into a line (see graph.h).
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "bisect/graph.h"

namespace rb::bisect {

struct CommitRange {
  std::vector<std::string> commits;   // full shas; [0] = old end, back() = new end
  std::vector<std::string> subjects;  // one-line subjects, same order
  CommitGraph graph = CommitGraph::linear(2);
  int index(const std::string& sha) const;  // -1 if not in the range
};

// Throws rb::Error(Usage) for unknown commits, if `old_end` is not an
// ancestor of `new_end`, or if the range is too large to hold in memory.
CommitRange commit_range(const std::filesystem::path& repo, const std::string& old_end, const std::string& new_end);

// Made-up commit ids "000...0i" over `graph` (tests and the simulator).
CommitRange synthetic_range(const CommitGraph& graph);

}  // namespace rb::bisect
