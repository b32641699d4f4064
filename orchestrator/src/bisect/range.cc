#include "bisect/range.h"

#include <fmt/format.h>

#include <map>
#include <sstream>

#include "kernel/source.h"
#include "util/error.h"
#include "util/process.h"

namespace rb::bisect {

namespace {

// Ancestor sets take n^2/8 bytes: 128 MiB here. A kernel release is ~15k.
constexpr size_t kMaxCommits = 32768;

}  // namespace

int CommitRange::index(const std::string& sha) const {
  for (size_t i = 0; i < commits.size(); ++i)
    if (commits[i] == sha) return static_cast<int>(i);
  return -1;
}

CommitRange commit_range(const std::filesystem::path& repo, const std::string& old_end, const std::string& new_end) {
  auto resolve = [&](const std::string& c) {
    RunResult r = kernel::run_git(repo, {"rev-parse", "--verify", "--quiet", c + "^{commit}"});
    if (r.exit_code != 0) throw usage_error("unknown commit '" + c + "' in " + repo.string());
    return r.output.substr(0, r.output.find('\n'));
  };
  const std::string a = resolve(old_end), b = resolve(new_end);
  if (kernel::run_git(repo, {"merge-base", "--is-ancestor", a, b}).exit_code != 0)
    throw usage_error(old_end + " is not an ancestor of " + new_end + ": nothing to bisect between them");
  CommitRange r;
  r.commits.push_back(a);
  r.subjects.push_back(kernel::git(repo, {"log", "-1", "--format=%s", a}));
  std::vector<std::vector<std::string>> parent_shas{{}};
  std::istringstream in(kernel::git(
      repo, {"rev-list", "--reverse", "--topo-order", "--format=%H %P%x09%s", "--no-commit-header", b, "^" + a}));
  for (std::string line; std::getline(in, line);) {
    const auto tab = line.find('\t');
    if (line.size() < 40 || tab == std::string::npos) continue;
    std::istringstream ids(line.substr(0, tab));
    std::string sha, p;
    ids >> sha;
    parent_shas.emplace_back();
    while (ids >> p) parent_shas.back().push_back(p);
    r.commits.push_back(sha);
    r.subjects.push_back(line.substr(tab + 1));
  }
  if (r.commits.size() < 2) throw usage_error("no commits between " + old_end + " and " + new_end);
  if (r.commits.size() > kMaxCommits)
    throw usage_error(fmt::format("{} commits between {} and {}: more than {}; narrow the range", r.commits.size(),
                                  old_end, new_end, kMaxCommits));
  std::map<std::string, int> pos;
  for (size_t i = 0; i < r.commits.size(); ++i) pos[r.commits[i]] = static_cast<int>(i);
  // Parents outside the range are ancestors of the old end: old, like it.
  std::vector<std::vector<int>> parents(r.commits.size());
  for (size_t i = 1; i < r.commits.size(); ++i)
    for (const auto& p : parent_shas[i])
      if (auto it = pos.find(p); it != pos.end()) parents[i].push_back(it->second);
  r.graph = CommitGraph(std::move(parents));
  return r;
}

CommitRange synthetic_range(const CommitGraph& graph) {
  CommitRange r;
  for (int i = 0; i < graph.size(); ++i) {
    r.commits.push_back(fmt::format("{:040d}", i));
    r.subjects.push_back(fmt::format("commit {}", i));
  }
  r.graph = graph;
  return r;
}

}  // namespace rb::bisect
