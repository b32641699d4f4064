#include "bisect/range.h"

#include <sstream>

#include "kernel/source.h"
#include "util/error.h"
#include "util/process.h"

namespace rb::bisect {

CommitRange commit_range(const std::filesystem::path& repo, const std::string& old_end, const std::string& new_end) {
  auto resolve = [&](const std::string& c) {
    RunResult r = run_process({"git", "-C", repo.string(), "rev-parse", "--verify", "--quiet", c + "^{commit}"});
    if (r.exit_code != 0) throw usage_error("unknown commit '" + c + "' in " + repo.string());
    return r.output.substr(0, r.output.find('\n'));
  };
  const std::string a = resolve(old_end), b = resolve(new_end);
  if (run_process({"git", "-C", repo.string(), "merge-base", "--is-ancestor", a, b}).exit_code != 0)
    throw usage_error(old_end + " is not an ancestor of " + new_end + ": nothing to bisect between them");
  CommitRange r;
  r.commits.push_back(a);
  r.subjects.push_back(kernel::git(repo, {"log", "-1", "--format=%s", a}));
  std::istringstream in(kernel::git(repo, {"rev-list", "--reverse", "--topo-order", "--ancestry-path",
                                           "--format=%H %s", "--no-commit-header", a + ".." + b}));
  for (std::string line; std::getline(in, line);) {
    if (line.size() < 41) continue;
    r.commits.push_back(line.substr(0, 40));
    r.subjects.push_back(line.substr(41));
  }
  if (r.commits.size() < 2) throw usage_error("no commits between " + old_end + " and " + new_end);
  return r;
}

}  // namespace rb::bisect
