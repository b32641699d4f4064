// Runs a program the way a user would (argv, a changed environment) and
// reports what the tests and the bench measure: exit code, combined output,
// wall time and the peak RSS of it and the children it waited for
// (wait4's ru_maxrss). The process is killed if it outlives `timeout`.
#pragma once
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rb::testing {

struct Spawned {
  int exit_code = -1;       // 128 + signal if killed by one
  bool timed_out = false;
  std::string output;       // stdout + stderr, at most 1 MiB kept
  double seconds = 0;
  long max_rss_kb = 0;
};

// `env`: variables set (or, with nullopt, removed) on top of ours; `cwd`:
// where it runs (empty: here).
Spawned spawn(const std::vector<std::string>& argv,
              const std::map<std::string, std::optional<std::string>>& env = {},
              std::chrono::seconds timeout = std::chrono::seconds(60), const std::string& cwd = "");

}  // namespace rb::testing
