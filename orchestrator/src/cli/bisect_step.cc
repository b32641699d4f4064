#include "cli/bisect_step.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "bisect/store_log.h"
#include "cli/step_runner.h"
#include "kernel/source.h"
#include "run/case.h"
#include "stats/binomial.h"
#include "store/store.h"
#include "util/error.h"
#include "util/fs.h"

namespace rb::cli {

namespace {

constexpr int kAbort = 128;  // git bisect run stops on codes > 127

// Pooled counts of the other commits that reproduced in this session (the
// rate-aware p1; run bisect-step on the bad end first to teach it).
bisect::LearnedRate learned_rate(store::Store& db, int64_t session, const std::string& head) {
  bisect::LearnedRate l;
  bisect::StoreEvidenceLog log(db, session);
  for (const auto& e : log.evidence())
    if (e.commit != head && e.failures() > 0) l.trials += e.trials(), l.failures += e.failures();
  return l;
}

int run_step(const StepFlags& f, bool fix) {
  // Every input is checked before git runs; then the source is the work tree's top.
  const fs::path where = f.source.empty() ? fs::current_path() : fs::path(f.source);
  run::Settings s = step_settings(f, where);
  const fs::path repo = kernel::git_toplevel(where);
  s.source.path = repo;
  const run::Case& c = s.kase;
  const std::string commit = kernel::commit_under_test(repo);
  store::Store db(f.db.empty() ? cache_root() / "history.db" : fs::path(f.db));
  const int64_t session = db.session(session_key(s, {"bisect-step"}), "bisect-step",
                                     nlohmann::json{{"repo", repo.string()}, {"case", c.name}}.dump());
  StepResult r = run_commit_step(f, s, commit, db, session, learned_rate(db, session, commit));
  const std::string short_id = commit.substr(0, 12);
  std::cout << fmt::format("commit {}: {}\n", short_id, r.evidence);
  if (r.decision == StepDecision::Skip) {
    std::cout << "decision: skip (" << r.why << ")\n";
    return 125;
  }
  const bool reproduces = r.decision == StepDecision::Reproduces;
  // Finding a fix: the old term is "still broken", so a reproducing commit
  // is "old" (exit 0) and a clean one "new" (exit 1).
  const bool is_new = fix ? !reproduces : reproduces;
  std::cout << fmt::format("decision: {} -> {} ({})\n", reproduces ? "race reproduces" : "clean within the test",
                           is_new ? (fix ? "new/fixed" : "bad") : (fix ? "old/broken" : "good"), r.why);
  db.record_event(session, fmt::format("{} {} {}", short_id, is_new ? "new" : "old", r.evidence));
  return is_new ? 1 : 0;
}

}  // namespace

std::function<int()> add_bisect_step(CLI::App& app) {
  auto f = std::make_shared<StepFlags>();
  auto fix = std::make_shared<bool>(false);
  auto* sub = app.add_subcommand(
      "bisect-step",
      "For `git bisect run`: build HEAD, run trials under Wald's SPRT (p1 learnt from commits that reproduced in "
      "this session, at least --min-rate), exit 0 good / 1 bad / 125 skip (128 aborts on bad input). With --fix, exit 0 while the race reproduces (use git bisect terms old/new).");
  add_step_flags(sub, *f);
  sub->add_flag("--fix", *fix, "look for the commit that fixed the race (0 = still reproduces)");
  return [f, fix, sub]() -> int {
    if (!sub->parsed()) return -1;
    try {
      return run_step(*f, *fix);
    } catch (const std::exception& e) {
      // Build failures were already turned into "skip"; anything left is bad
      // input or broken machinery: abort the bisection rather than mislabel.
      std::cerr << "racebisect bisect-step: " << e.what() << "\n";
      return kAbort;
    }
  };
}

}  // namespace rb::cli
