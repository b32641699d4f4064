#include "bisect/driver.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "stats/binomial.h"

namespace rb::bisect {

namespace {

constexpr double kBoundConfidence = 0.95;  // "its rate is below min_rate"
constexpr int kMaxCleanStep = 32;           // trials per clean-end step
constexpr int kTopCulprits = 5;

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Zero failures in n trials put the rate below `rate` at kBoundConfidence.
int trials_to_bound(double rate) {
  return static_cast<int>(std::ceil(std::log(1 - kBoundConfidence) / std::log1p(-rate)));
}

std::string short_id(const std::string& sha) { return sha.substr(0, 12); }

}  // namespace

std::optional<StepRecord> parse_step_event(const std::string& text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || j.value("type", "") != "step") return std::nullopt;
  StepRecord s;
  s.kind = j.value("kind", "");
  s.commit = j.value("commit", "");
  s.kernel_sha256 = j.value("kernel", "");
  s.trials = j.value("trials", 0);
  s.failures = j.value("failures", 0);
  s.boots = j.value("boots", 0);
  s.empty_boots = j.value("empty_boots", 0);
  s.build_failed = j.value("build_failed", false);
  s.top_commit = j.value("top", "");
  s.top_probability = j.value("top_p", 0.0);
  s.cost = j.value("cost", 0.0);
  return s;
}

PosteriorParams Driver::without_rate_change(PosteriorParams p) {
  p.rate_change = 0;
  return p;
}

const char* to_string(Outcome o) {
  switch (o) {
    case Outcome::Found: return "found";
    case Outcome::NoOp: return "no-op";
    case Outcome::Ambiguous: return "ambiguous";
    case Outcome::Inconclusive: return "inconclusive";
    case Outcome::NotReproduced: return "not-reproduced";
    case Outcome::RangeWrong: return "range-wrong";
    case Outcome::EndUntestable: return "end-untestable";
    case Outcome::Interrupted: return "interrupted";
  }
  return "?";
}

// A rate that changes after the culprit is modelled down to min_rate, the
// smallest rate the bisection promises to catch.
DriverParams Driver::with_change_floor(DriverParams p) {
  p.posterior.change_floor = p.min_rate;
  return p;
}

Driver::Driver(const CommitRange& range, DriverParams params, EvidenceLog& log, Tester& tester)
    : range_(range),
      params_(with_change_floor(std::move(params))),
      log_(log),
      tester_(tester),
      post_(range.graph, params_.posterior),
      plain_(range.graph, without_rate_change(params_.posterior)) {
  params_.planner.build_cost = params_.build_cost;
  const int n = range_.graph.size();
  affected_end_ = params_.posterior.fix ? 0 : n - 1;
  clean_end_ = params_.posterior.fix ? n - 1 : 0;
  load();
}

void Driver::load() {
  nodes_.assign(range_.graph.size(), {});
  std::map<std::string, int> pos;
  for (size_t i = 0; i < range_.commits.size(); ++i) pos[range_.commits[i]] = static_cast<int>(i);
  for (auto& e : log_.evidence())
    if (auto it = pos.find(e.commit); it != pos.end()) absorb(it->second, std::move(e));
  steps_.clear();
  for (const auto& text : log_.events())
    if (auto s = parse_step_event(text)) steps_.push_back(*s);
}

void Driver::absorb(int x, CommitEvidence ev) {
  post_.reset(x);
  plain_.reset(x);
  for (const auto& b : ev.boots) {
    post_.observe(x, BootCount{b.trials, b.failures});
    plain_.observe(x, BootCount{b.trials, b.failures});
  }
  nodes_[x].ev = std::move(ev);
}

bool Driver::untestable(int x) const {
  const auto& e = nodes_[x].ev;
  if (e.build_failures > 0 && e.builds == 0) return true;
  // A step ends after two boots in a row without a trial; one such step
  // (or one that recorded nothing) skips the commit, unless it mostly boots.
  const int empty = e.empty_boots() + 2 * nodes_[x].unlogged_empty;
  const int full = static_cast<int>(e.boots.size()) - e.empty_boots();
  return empty >= 2 && empty > full;
}

int Driver::builds() const {
  int b = 0;
  for (const auto& nd : nodes_) b += nd.ev.builds > 0 || nd.ev.build_failures > 0;
  return b;
}

long Driver::trials() const {
  long t = 0;
  for (const auto& nd : nodes_) t += nd.ev.trials();
  return t;
}

double Driver::cost() const {
  double empty = 0;
  for (const auto& nd : nodes_) empty += nd.ev.empty_boots() + 2 * nd.unlogged_empty;
  return trials() + params_.build_cost * builds() + params_.empty_boot_cost * empty;
}

void Driver::note(const std::string& text) { log_.record_event(nlohmann::json{{"type", "note"}, {"text", text}}.dump()); }

void Driver::record_step(int x, const std::string& kind, const CommitEvidence& before) {
  const CommitEvidence& now = nodes_[x].ev;
  StepRecord s;
  s.kind = kind;
  s.commit = range_.commits[x];
  s.kernel_sha256 = now.kernel_sha256;
  s.trials = now.trials() - before.trials();
  s.failures = now.failures() - before.failures();
  s.boots = static_cast<int>(now.boots.size() - before.boots.size());
  s.empty_boots = now.empty_boots() - before.empty_boots();
  s.build_failed = untestable(x) && now.builds == 0;
  const int top = post_.map_culprit();
  s.top_commit = range_.commits[top];
  s.top_probability = post_.top_probability();
  s.cost = cost();
  steps_.push_back(s);
  log_.record_event(nlohmann::json{{"type", "step"},
                                   {"kind", s.kind},
                                   {"commit", s.commit},
                                   {"kernel", s.kernel_sha256},
                                   {"trials", s.trials},
                                   {"failures", s.failures},
                                   {"boots", s.boots},
                                   {"empty_boots", s.empty_boots},
                                   {"build_failed", s.build_failed},
                                   {"top", s.top_commit},
                                   {"top_p", s.top_probability},
                                   {"cost", s.cost}}
                        .dump());
}

bool Driver::test(int x, int trials, bool stop_at_failure, const std::string& kind) {
  if (untestable(x) || trials <= 0) return false;
  const std::string& sha = range_.commits[x];
  const CommitEvidence before = nodes_[x].ev;
  const TestBuild b = tester_.build(sha);
  if (b.ok) tester_.run(sha, trials, [&](bool failed) { return !(stop_at_failure && failed); });
  CommitEvidence now = log_.evidence(sha);
  if (!b.ok && now.build_failures == before.build_failures) ++now.build_failures;  // a tester that did not log it
  if (b.ok && now.trials() == before.trials() && now.boots.size() == before.boots.size()) ++nodes_[x].unlogged_empty;
  absorb(x, std::move(now));
  record_step(x, kind, before);
  return b.ok;
}

void Driver::run_parallel(const std::vector<Step>& steps) {
  // Builds are serial (one work tree); the trials run side by side.
  std::vector<std::pair<int, CommitEvidence>> ready;
  for (const Step& s : steps) {
    const std::string& sha = range_.commits[s.commit];
    const CommitEvidence before = nodes_[s.commit].ev;
    if (tester_.build(sha).ok) {
      ready.push_back({s.commit, before});
      continue;
    }
    absorb(s.commit, log_.evidence(sha));
    record_step(s.commit, "search", before);
  }
  std::vector<std::thread> threads;
  for (size_t i = 0; i < ready.size(); ++i) {
    const int trials = std::find_if(steps.begin(), steps.end(), [&](const Step& s) { return s.commit == ready[i].first; })->trials;
    threads.emplace_back([&, i, trials] { tester_.run(range_.commits[ready[i].first], trials, [](bool f) { return !f; }); });
  }
  for (auto& t : threads) t.join();
  for (auto& [x, before] : ready) {
    CommitEvidence now = log_.evidence(range_.commits[x]);
    if (now.trials() == before.trials() && now.boots.size() == before.boots.size()) ++nodes_[x].unlogged_empty;
    absorb(x, std::move(now));
    record_step(x, "search", before);
  }
}

// Trials after which a failure at the learned rate would have shown with
// clean_power. The rate is each reference commit's own (median of its Beta
// posterior under Jeffreys' prior), the lowest of them: the culprit may fail
// less often than the end if the rate rose later, and the posterior's common
// rate can be far off while only the end has failed.
int Driver::clean_trials_needed(const std::vector<int>& reference) const {
  double p = 1;
  for (int x : reference) {
    const auto& e = nodes_[x].ev;
    if (e.failures() == 0) continue;
    const double a = e.failures() + 0.5, b = e.trials() - e.failures() + 0.5;
    p = std::min(p, (a - 1.0 / 3) / (a + b - 2.0 / 3));
  }
  if (p >= 1) p = params_.min_rate;
  return static_cast<int>(std::ceil(std::log(1 - params_.clean_power) / std::log1p(-std::min(p, 0.999))));
}

// P(clean end's counts | affected rate) / P(counts | flake rate), both
// mixed over their posteriors: above 1, its failures look like the race.
double Driver::clean_end_bayes_factor() const {
  // In logs: a long clean run underflows any product of rates.
  auto log_lik = [&](const std::vector<double>& grid, const std::vector<double>& w) {
    double m = -INFINITY;
    std::vector<double> terms;
    for (size_t g = 0; g < grid.size(); ++g) {
      if (w[g] <= 0) continue;
      double l = std::log(w[g]);
      for (const auto& b : nodes_[clean_end_].ev.boots)
        l += b.failures * std::log(grid[g]) + (b.trials - b.failures) * std::log1p(-grid[g]);
      terms.push_back(l);
      m = std::max(m, l);
    }
    double s = 0;
    for (double t : terms) s += std::exp(t - m);
    return m + std::log(s);
  };
  return std::exp(log_lik(plain_.rate_grid(), plain_.rate_posterior()) -
                  log_lik(plain_.flake_grid(), plain_.flake_posterior()));
}

// Could flakes at the highest flake rate of the grid give this many
// failures (binomial tail >= 1%)? Then the search, not a refusal, sorts it out.
bool Driver::flake_like(const CommitEvidence& e) const {
  const int n = e.trials(), k = e.failures();
  const double f = params_.posterior.flake_max;
  double below = 0, term = std::pow(1 - f, n);  // P(X = 0)
  for (int i = 0; i < k; ++i) below += term, term *= (n - i) / (i + 1.0) * f / (1 - f);
  return 1 - below >= 0.01;
}

std::optional<Result> Driver::check_ends(const std::atomic<bool>& interrupted) {
  const int A = affected_end_, C = clean_end_, bound = trials_to_bound(params_.min_rate);
  const char* a_name = params_.posterior.fix ? "old (broken)" : "bad";
  const char* c_name = params_.posterior.fix ? "new (fixed)" : "good";
  while (nodes_[A].ev.failures() < params_.endpoint_failures && (nodes_[A].ev.failures() == 0 || nodes_[A].ev.trials() < bound)) {
    if (interrupted) return finish(Outcome::Interrupted, "interrupted: run the same command again to resume");
    if (untestable(A))
      return finish(Outcome::EndUntestable, fmt::format("the {} end {} does not build or boot", a_name, short_id(range_.commits[A])));
    if (nodes_[A].ev.failures() == 0 && nodes_[A].ev.trials() >= bound)
      return finish(Outcome::NotReproduced,
                    fmt::format("the {} end {} did not fail in {} trials: its rate is below {} ({:.0f}% bound); "
                                "nothing to bisect (lower --min-rate to test longer)",
                                a_name, short_id(range_.commits[A]), nodes_[A].ev.trials(), params_.min_rate,
                                100 * kBoundConfidence));
    if (cost() >= params_.budget) return finish(Outcome::Inconclusive, "budget exhausted on the endpoints");
    test(A, std::min(params_.endpoint_trials, bound - nodes_[A].ev.trials()), false, "affected-end");
  }
  for (;;) {
    if (interrupted) return finish(Outcome::Interrupted, "interrupted: run the same command again to resume");
    if (untestable(C))
      return finish(Outcome::EndUntestable, fmt::format("the {} end {} does not build or boot", c_name, short_id(range_.commits[C])));
    const int need = clean_trials_needed({A});
    if (nodes_[C].ev.trials() >= need) break;
    if (cost() >= params_.budget) return finish(Outcome::Inconclusive, "budget exhausted on the endpoints");
    test(C, std::min(kMaxCleanStep, need - nodes_[C].ev.trials()), false, "clean-end");
  }
  if (nodes_[C].ev.failures() > 0 && clean_end_bayes_factor() > 1 && !flake_like(nodes_[C].ev))
    return finish(Outcome::RangeWrong,
                  fmt::format("the {} end {} fails too ({}/{}), at a rate like the race's: the change is not in this range",
                              c_name, short_id(range_.commits[C]), nodes_[C].ev.failures(), nodes_[C].ev.trials()));
  return std::nullopt;
}

// The confirmation step the culprit still needs, if any: it must have
// reproduced, and its parents must have run as long as the clean end (the
// roles swap for a fix).
std::optional<Step> Driver::confirmation_step(int c) const {
  std::vector<int> affected{c}, clean = range_.graph.parents(c);
  if (params_.posterior.fix) std::swap(affected, clean);
  if (std::find(clean.begin(), clean.end(), clean_end_) == clean.end()) clean.push_back(clean_end_);
  std::vector<int> reference = affected;
  reference.push_back(affected_end_);
  const int need = clean_trials_needed(reference);
  for (int x : affected)
    if (!untestable(x) && nodes_[x].ev.failures() == 0) return Step{x, std::max(need, params_.endpoint_trials)};
  for (int x : clean)
    if (!untestable(x) && nodes_[x].ev.failures() == 0 && nodes_[x].ev.trials() < need)
      return Step{x, std::min(kMaxCleanStep, need - nodes_[x].ev.trials())};
  return std::nullopt;
}

// The plain model is sure of c; the robust one still doubts whether its
// clean side only failed less often (a rate that rose later): run the
// least-tested clean member of the boundary (the parents; c itself for a fix).
std::optional<Step> Driver::strengthening_step(int c) const {
  std::vector<int> clean = params_.posterior.fix ? std::vector<int>{c} : range_.graph.parents(c);
  int best = -1;
  for (int x : clean)
    if (!untestable(x) && (best < 0 || nodes_[x].ev.trials() < nodes_[best].ev.trials())) best = x;
  if (best < 0) return std::nullopt;
  return Step{best, clean_trials_to_confidence(best, c)};
}

// Whole boots of clean trials at x after which the robust posterior would
// name c at confidence, capped at kMaxCleanStep: a fixed 32-trial step
// overshot the last one by about 16 trials.
int Driver::clean_trials_to_confidence(int x, int c) const {
  const int per_boot = std::max(1, params_.planner.trials_per_boot);
  CulpritPosterior what_if = post_;  // one copy; a clean boot added per round
  for (int k = per_boot; k < kMaxCleanStep; k += per_boot) {
    what_if.observe(x, BootCount{per_boot, 0});
    if (what_if.map_culprit() == c && what_if.top_probability() >= params_.confidence) return k;
  }
  return kMaxCleanStep;
}

std::vector<Step> Driver::plan(const CulpritPosterior& by) const {
  Planner planner(by, params_.planner);
  for (int x = 0; x < range_.graph.size(); ++x) {
    if (nodes_[x].built()) planner.mark_built(x);
    if (untestable(x)) planner.mark_untestable(x);
  }
  auto steps = planner.plan_parallel(std::max(1, params_.slots));
  std::erase_if(steps, [&](const Step& s) { return s.commit < 0 || s.trials <= 0 || untestable(s.commit); });
  return steps;
}

std::vector<int> Driver::unsplittable_group(int c) const {
  std::vector<int> g;
  for (int x : post_.group_of(c))
    if (post_.probabilities()[x] > 0) g.push_back(x);
  if (g.size() < 2) return {};
  const auto& graph = range_.graph;
  for (int x = 0; x < graph.size() - 1; ++x) {
    if (untestable(x)) continue;
    const auto n_anc = std::count_if(g.begin(), g.end(), [&](int m) { return graph.is_ancestor(m, x); });
    if (n_anc > 0 && n_anc < static_cast<long>(g.size())) return {};
  }
  return g;
}

OtherCrashShift Driver::other_crash_shift(int c) const {
  OtherCrashShift s;
  for (int x = 0; x < range_.graph.size(); ++x) {
    const auto& e = nodes_[x].ev;
    const bool fresh = range_.graph.is_ancestor(c, x);
    (fresh ? s.new_boots : s.old_boots) += static_cast<int>(e.boots.size());
    (fresh ? s.new_crashes : s.old_crashes) += e.other_crashes();
  }
  if (s.new_boots > 0 && s.old_boots > 0)
    s.p_value = stats::fisher_exact_two_sided(s.new_crashes, s.new_boots, s.old_crashes, s.old_boots);
  s.changed = s.p_value < 0.01;
  return s;
}

Result Driver::finish(Outcome o, std::string why) {
  Result r = snapshot(o, std::move(why));
  r.wall_seconds = now_seconds() - started_;
  note(fmt::format("end: {}: {}", to_string(o), r.why));
  return r;
}

Result Driver::run(const std::atomic<bool>& interrupted) {
  started_ = now_seconds();
  note(fmt::format("start/resume: {} commits, {} trials and {} builds recorded", range_.graph.size(), trials(), builds()));
  if (auto refused = check_ends(interrupted)) return *refused;
  for (;;) {
    if (interrupted) return finish(Outcome::Interrupted, "interrupted: run the same command again to resume");
    const int c = post_.map_culprit();
    const double top = post_.top_probability();
    auto end = top >= params_.confidence ? at_confidence(c, top) : search(c, top);
    if (end) return *end;
  }
}

// The top culprit is at confidence: confirm it (one step, then back to the
// loop), or end.
std::optional<Result> Driver::at_confidence(int c, double top) {
  if (c == 0) return finish(Outcome::RangeWrong, fmt::format("P(the change is at or before the old end) = {:.4f}", top));
  if (auto step = confirmation_step(c)) {
    if (cost() >= params_.budget)
      return finish(Outcome::Inconclusive, fmt::format("budget of {:.0f} exhausted while confirming {} (posterior {:.4f})",
                                                       params_.budget, short_id(range_.commits[c]), top));
    // An affected commit stops at its first failure; a clean one runs on.
    test(step->commit, step->trials, step->commit == c ? !params_.posterior.fix : params_.posterior.fix, "confirm");
    return std::nullopt;
  }
  if (auto p = identical_parent(c))
    return finish(Outcome::NoOp, fmt::format("posterior {:.4f}, but its kernel is byte-identical to its parent {}'s: "
                                             "a no-op commit for this config, most likely wrong",
                                             top, short_id(range_.commits[*p])));
  return finish(Outcome::Found, fmt::format("posterior {:.4f} >= {}, confirmed", top, params_.confidence));
}

// Below confidence: end if only untestable commits are left between the
// candidates or the budget is spent, else run one planned step.
std::optional<Result> Driver::search(int c, double top) {
  double mass = 0;
  for (int x : post_.group_of(c)) mass += post_.probabilities()[x];
  if (mass >= params_.confidence) {
    const auto group = unsplittable_group(c);
    if (!group.empty())
      return finish(Outcome::Ambiguous, fmt::format("P = {:.4f} that the culprit is one of {} commits that only "
                                                    "untestable commits separate",
                                                    mass, group.size()));
  }
  if (cost() >= params_.budget)
    return finish(Outcome::Inconclusive, fmt::format("budget of {:.0f} exhausted at posterior {:.4f} < {}",
                                                     params_.budget, top, params_.confidence));
  if (plain_.top_probability() >= params_.confidence && plain_.map_culprit() == c && c > 0)
    if (auto step = strengthening_step(c)) {
      test(step->commit, step->trials, false, "strengthen");
      return std::nullopt;
    }
  // Steer by the plain posterior while it is unsure; by the robust one once
  // the plain one is sure of a commit the robust one does not favour.
  auto steps = plan(plain_.top_probability() < params_.confidence ? plain_ : post_);
  if (steps.empty()) steps = plan(post_);
  if (steps.empty())
    return finish(Outcome::Inconclusive, fmt::format("no testable commit left to learn from (posterior {:.4f})", top));
  if (steps.size() == 1) test(steps[0].commit, steps[0].trials, true, "search");
  else run_parallel(steps);
  return std::nullopt;
}

std::optional<int> Driver::identical_parent(int c) const {
  const std::string& sha = nodes_[c].ev.kernel_sha256;
  for (int p : range_.graph.parents(c))
    if (!sha.empty() && nodes_[p].ev.kernel_sha256 == sha) return p;
  return std::nullopt;
}

Result Driver::replay() const {
  const int c = post_.map_culprit();
  const double top = post_.top_probability();
  const std::string why = fmt::format("replayed from recorded evidence: posterior {:.4f}", top);
  if (top < params_.confidence || c == 0) return snapshot(Outcome::Inconclusive, why);
  return snapshot(identical_parent(c) ? Outcome::NoOp : Outcome::Found, why);
}

Result Driver::snapshot(Outcome outcome, std::string why) const {
  Result r;
  r.outcome = outcome;
  r.why = std::move(why);
  r.fix = params_.posterior.fix;
  r.confidence = params_.confidence;
  r.range_size = range_.graph.size();
  const auto& prob = post_.probabilities();
  const int c = post_.map_culprit();
  r.posterior = prob[c];
  if (outcome == Outcome::Found || outcome == Outcome::NoOp) {
    r.culprit = c;
    r.culprit_commit = range_.commits[c];
    r.culprit_subject = range_.subjects[c];
  }
  std::vector<int> order(prob.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::partial_sort(order.begin(), order.begin() + std::min<size_t>(kTopCulprits, order.size()), order.end(),
                    [&](int a, int b) { return prob[a] > prob[b] || (prob[a] == prob[b] && a < b); });
  for (size_t i = 0; i < std::min<size_t>(kTopCulprits, order.size()); ++i)
    if (prob[order[i]] > 0) r.top.push_back({range_.commits[order[i]], prob[order[i]]});
  r.p_range_wrong = prob[0];
  for (int x : unsplittable_group(c)) {
    r.ambiguous.push_back(range_.commits[x]);
    r.ambiguous_posterior += prob[x];
  }
  r.rate_mean = plain_.mean_rate();
  r.rate_low = plain_.rate_quantile(0.05);
  r.rate_high = plain_.rate_quantile(0.95);
  r.flake_mean = plain_.mean_flake();
  const auto& p_new = post_.prob_new();
  for (int x = 0; x < range_.graph.size(); ++x) {
    const auto& e = nodes_[x].ev;
    r.boots += static_cast<int>(e.boots.size());
    if (e.boots.empty() && e.builds == 0 && e.build_failures == 0) continue;
    r.commits.push_back({x, range_.commits[x], range_.subjects[x], e.kernel_sha256, e.builds, e.build_failures,
                         static_cast<int>(e.boots.size()), e.empty_boots(), e.trials(), e.failures(),
                         e.other_crashes(), untestable(x), p_new[x], prob[x]});
  }
  r.steps = steps_;
  if (c > 0) r.other = other_crash_shift(c);
  r.builds = builds();
  r.trials = trials();
  r.cost = cost();
  r.budget = params_.budget;
  return r;
}

}  // namespace rb::bisect
