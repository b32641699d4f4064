#include "bisect/driver.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <map>
#include <thread>

#include "bisect/planner.h"
#include "stats/binomial.h"
#include "stats/sprt.h"

namespace rb::bisect {

Driver::Driver(CommitRange range, DriverParams params, store::Store& db, int64_t session, Tester& tester)
    : range_(std::move(range)),
      map_{static_cast<int>(range_.commits.size()), params.fix},
      params_(params),
      db_(db),
      session_(session),
      tester_(tester) {
  load();
}

void Driver::load() {
  std::map<std::string, int> pos;
  for (size_t i = 0; i < range_.commits.size(); ++i) pos[range_.commits[i]] = static_cast<int>(i);
  const int n = map_.n;
  table_.assign(n, {});
  built_.assign(n, false);
  untestable_.assign(n, false);
  sha256_.assign(n, "");
  builds_ = 0;
  trials_ = 0;
  for (const auto& e : db_.evidence(session_)) {
    auto it = pos.find(e.commit);
    if (it == pos.end()) continue;
    // A failure always means "the race reproduced"; the reversed model order
    // of a fix search puts those on the model's failing side.
    const int m = map_.to_model(it->second);
    table_[m] = {e.trials, e.failures};
    built_[m] = e.builds > 0;
    untestable_[m] = e.build_failed && e.builds == 0;
    sha256_[m] = e.bzimage_sha256;
    builds_ += (e.builds > 0 || e.build_failed) ? 1 : 0;
    trials_ += e.trials;
  }
}

CulpritPosterior Driver::posterior() const { return CulpritPosterior::replay(map_.n, {}, table_); }

void Driver::event(const std::string& text) { db_.record_event(session_, text); }

bool Driver::test(int model, int trials, const std::function<bool(bool)>& on_trial) {
  const std::string& commit = commit_at(model);
  auto b = tester_.build(commit);
  if (!built_[model] && !untestable_[model]) ++builds_;
  if (!b.ok) {
    untestable_[model] = true;
    event(fmt::format("{} untestable: build failed", commit.substr(0, 12)));
    return false;
  }
  built_[model] = true;
  sha256_[model] = b.bzimage_sha256;
  auto c = tester_.run(commit, trials, on_trial);
  table_[model].trials += c.trials;
  table_[model].failures += c.failures;
  trials_ += c.trials;
  event(fmt::format("{} (pos {}): {} trial(s), {} failure(s){}", commit.substr(0, 12), map_.to_range(model), c.trials,
                    c.failures, c.other ? fmt::format(", {} other outcome(s)", c.other) : std::string()));
  return true;
}

void Driver::run_parallel(const std::vector<std::pair<int, int>>& steps) {
  // Builds are serial (one work tree); the trials run side by side.
  std::vector<std::pair<int, int>> ready;
  for (auto [m, t] : steps) {
    auto b = tester_.build(commit_at(m));
    if (!built_[m] && !untestable_[m]) ++builds_;
    if (!b.ok) {
      untestable_[m] = true;
      event(fmt::format("{} untestable: build failed", commit_at(m).substr(0, 12)));
      continue;
    }
    built_[m] = true;
    sha256_[m] = b.bzimage_sha256;
    ready.push_back({m, t});
  }
  std::vector<TestCounts> counts(ready.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < ready.size(); ++i)
    threads.emplace_back([&, i] { counts[i] = tester_.run(commit_at(ready[i].first), ready[i].second, [](bool) { return true; }); });
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < ready.size(); ++i) {
    const int m = ready[i].first;
    table_[m].trials += counts[i].trials;
    table_[m].failures += counts[i].failures;
    trials_ += counts[i].trials;
    event(fmt::format("{} (pos {}): {} trial(s), {} failure(s) [parallel]", commit_at(m).substr(0, 12),
                      map_.to_range(m), counts[i].trials, counts[i].failures));
  }
}

bool Driver::reproduces(int model) {
  if (table_[model].failures > 0) return true;
  const int need = params_.endpoint_trials - table_[model].trials;
  if (need > 0 && !untestable_[model]) test(model, need, [](bool failed) { return !failed; });
  return table_[model].failures > 0;
}

bool Driver::stays_clean(int model) {
  stats::Sprt sprt({params_.p0, params_.p1, params_.alpha, params_.beta, 1 << 20});
  const int need = sprt.trials_to_accept_good() - table_[model].trials;
  if (table_[model].failures == 0 && need > 0 && !untestable_[model])
    test(model, need, [](bool failed) { return !failed; });
  return table_[model].failures == 0 && !untestable_[model];
}

DriverResult Driver::run(const std::atomic<bool>& interrupted) {
  const int n = map_.n;
  DriverResult r;
  event(fmt::format("start/resume: {} commits, {} trials and {} builds recorded", n, trials_, builds_));
  auto finish = [&](DriverOutcome o, std::string why) {
    auto p = posterior();
    r.outcome = o;
    r.why = std::move(why);
    r.culprit_position = map_.culprit_position(p.map_culprit());
    r.posterior = p.top_probability();
    event(fmt::format("end: {} ({})", r.why, commit_at(p.map_culprit()).substr(0, 12)));
    return r;
  };
  // 1. Endpoints: the new end must reproduce, the old end must stay clean.
  if (!reproduces(n - 1)) {
    if (interrupted) return finish(DriverOutcome::Interrupted, "interrupted");
    return finish(DriverOutcome::Refused,
                  fmt::format("the {} end {} does not reproduce the race within {} trials: nothing to bisect",
                              params_.fix ? "old (broken)" : "bad", commit_at(n - 1).substr(0, 12),
                              params_.endpoint_trials));
  }
  if (!stays_clean(0)) {
    if (interrupted) return finish(DriverOutcome::Interrupted, "interrupted");
    return finish(DriverOutcome::Refused,
                  fmt::format("the {} end {} fails too ({}/{}): the race does not {} in this range",
                              params_.fix ? "new (fixed)" : "good", commit_at(0).substr(0, 12), table_[0].failures,
                              table_[0].trials, params_.fix ? "go away" : "appear"));
  }
  // 2. Search.
  for (;;) {
    if (interrupted) return finish(DriverOutcome::Interrupted, "interrupted: run the same command again to resume");
    auto p = posterior();
    if (p.top_probability() >= params_.confidence) break;
    if (cost() >= params_.budget)
      return finish(DriverOutcome::BudgetExhausted,
                    fmt::format("budget of {:.0f} exhausted before reaching {:.2f}", params_.budget, params_.confidence));
    Planner planner(p, PlannerParams{.build_cost = params_.build_cost});
    for (int m = 0; m < n; ++m) {
      if (built_[m]) planner.mark_built(m);
      if (untestable_[m]) planner.mark_untestable(m);
    }
    auto steps = planner.plan_parallel(std::max(1, params_.slots));
    std::erase_if(steps, [](const Step& s) { return s.commit <= 0 || s.trials <= 0; });
    if (steps.empty()) return finish(DriverOutcome::BudgetExhausted, "no testable commit left to learn from");
    if (steps.size() == 1) {
      test(steps[0].commit, steps[0].trials, [](bool) { return true; });
    } else {
      std::vector<std::pair<int, int>> v;
      for (auto& s : steps) v.push_back({s.commit, s.trials});
      run_parallel(v);
    }
  }
  // 3. Confirm: the culprit reproduces and its neighbour on the clean side does not.
  const int c = posterior().map_culprit();
  const bool fails = reproduces(c);
  const bool clean = stays_clean(c - 1);
  event(fmt::format("confirm: {} {}, {} {}", commit_at(c).substr(0, 12), fails ? "reproduces" : "does NOT reproduce",
                    commit_at(c - 1).substr(0, 12), clean ? "clean" : "FAILS"));
  if (interrupted) return finish(DriverOutcome::Interrupted, "interrupted: run the same command again to resume");
  auto p = posterior();
  if (p.top_probability() < params_.confidence)
    return finish(DriverOutcome::BudgetExhausted,
                  fmt::format("confirmation lowered the posterior to {:.4f}", p.top_probability()));
  return finish(DriverOutcome::Found, fmt::format("posterior {:.4f} >= {:.2f}{}", p.top_probability(),
                                                  params_.confidence, fails && clean ? ", confirmed" : ""));
}

std::string Driver::report(const DriverResult& r) const {
  auto p = posterior();
  std::string out = fmt::format("{:>4} {:<12} {:>6} {:>6} {:>5} {:>7} {:>17} {:>7}  {}\n", "pos", "commit", "built",
                                "trials", "fail", "rate", "95% CI", "P(new)", "subject");
  for (size_t i = 0; i < range_.commits.size(); ++i) {
    const int m = map_.to_model(static_cast<int>(i));
    const auto& e = table_[m];
    if (e.trials == 0 && !built_[m] && !untestable_[m]) continue;
    auto ci = stats::wilson(e.failures, e.trials);
    // P(the commit shows the new behaviour), in the user's terms.
    const double p_new = map_.fix ? 1 - p.prob_bad(m) : p.prob_bad(m);
    out += fmt::format("{:>4} {:<12} {:>6} {:>6} {:>5} {:>7} {:>17} {:>7.3f}  {}\n", i, range_.commits[i].substr(0, 12),
                       untestable_[m] ? "FAILED" : built_[m] ? "yes" : "no", e.trials, e.failures,
                       e.trials ? fmt::format("{:.1f}%", 100.0 * e.failures / e.trials) : std::string("-"),
                       e.trials ? fmt::format("[{:.1f}%, {:.1f}%]", 100 * ci.low, 100 * ci.high) : std::string("-"),
                       p_new, range_.subjects[i].substr(0, 60));
  }
  const int m = p.map_culprit();
  const int pos = map_.culprit_position(m);
  out += fmt::format("\n{}: {} {}\n", params_.fix ? "fix" : "culprit", range_.commits[pos], range_.subjects[pos]);
  out += fmt::format("posterior: {:.4f} ({})\n", p.top_probability(), r.why);
  if (p.runner_up() > 0) {
    const int rpos = map_.culprit_position(p.runner_up());
    out += fmt::format("runner-up: {} (posterior {:.4f}) {}\n", range_.commits[rpos].substr(0, 12),
                       p.probabilities()[p.runner_up()], range_.subjects[rpos].substr(0, 60));
  }
  if (m >= 1 && !sha256_[m].empty() && sha256_[m] == sha256_[m - 1])
    out += "warning: the culprit's kernel is byte-identical to its neighbour's: a no-op commit for this config "
           "(comment, docs, other architecture); the real change is elsewhere\n";
  out += fmt::format("cost: {} build(s), {} trial(s) = {:.0f} trial units (a build = {:.0f} trials)\n", builds_,
                     trials_, cost(), params_.build_cost);
  return out;
}

}  // namespace rb::bisect
