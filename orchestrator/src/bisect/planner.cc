#include "bisect/planner.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

namespace rb::bisect {

namespace {

double h2(double p) { return p <= 0 || p >= 1 ? 0 : -p * std::log2(p) - (1 - p) * std::log2(1 - p); }

double entropy(const std::vector<double>& dist) {
  double h = 0;
  for (double p : dist)
    if (p > 0) h -= p * std::log2(p);
  return h;
}

// P(k failures in t trials), k = 0..t, mixed over a rate posterior.
std::vector<double> binomial_mixture(int t, const std::vector<double>& grid, const std::vector<double>& w) {
  std::vector<double> out(t + 1, 0.0);
  for (size_t g = 0; g < grid.size(); ++g) {
    if (w[g] <= 0) continue;
    // Binomial pmf by recurrence: one exp per grid point instead of per k.
    const double p = grid[g], odds = p / (1 - p);
    double pmf = std::exp(t * std::log1p(-p));
    for (int k = 0; k <= t; ++k) {
      out[k] += w[g] * pmf;
      pmf *= odds * (t - k) / (k + 1);
    }
  }
  return out;
}

}  // namespace

Planner::Planner(const CulpritPosterior& posterior, PlannerParams params)
    : post_(posterior),
      params_(std::move(params)),
      built_(posterior.size(), false),
      untestable_(posterior.size(), false) {}

void Planner::mark_untestable(int commit) {
  if (commit >= 0 && commit < post_.size()) untestable_[commit] = true;
}

void Planner::mark_built(int commit) {
  if (commit >= 0 && commit < post_.size()) built_[commit] = true;
}

bool Planner::built(int commit) const {
  if (commit < 0 || commit >= post_.size()) return false;
  return built_[commit] || post_.tested(commit);
}

Planner::Channel Planner::channel(int t) const {
  // An affected commit fails at the common rate, or (rate_change) at a
  // fraction of it: the planner must not expect more of a clean run than
  // the posterior will take from it.
  const auto& P = post_.params();
  std::vector<double> grid, w;
  for (size_t j = 0; j < post_.rate_grid().size(); ++j) {
    grid.push_back(post_.rate_grid()[j]);
    w.push_back(post_.rate_posterior()[j] * (1 - P.rate_change));
    for (double f : P.change_factors) {
      grid.push_back(post_.rate_grid()[j] * f);
      w.push_back(post_.rate_posterior()[j] * P.rate_change / P.change_factors.size());
    }
  }
  auto affected = binomial_mixture(t, grid, w);
  auto clean = binomial_mixture(t, post_.flake_grid(), post_.flake_posterior());
  Channel ch{t, {}, {}, 0, 0, 0, 0};
  ch.fresh = post_.params().fix ? clean : affected;
  ch.old = post_.params().fix ? affected : clean;
  ch.any_new = 1 - ch.fresh[0];
  ch.any_old = 1 - ch.old[0];
  ch.h_new = entropy(ch.fresh);
  ch.h_old = entropy(ch.old);
  return ch;
}

// I(X; K) = H(K) - H(K | X): the conditional part is fixed per channel, so
// each candidate costs one pass of logs.
double Planner::gain(const Channel& ch, double b) {
  if (b <= 0 || b >= 1) return 0;
  double h = 0;
  for (int k = 0; k <= ch.trials; ++k) {
    const double p = b * ch.fresh[k] + (1 - b) * ch.old[k];
    if (p > 0) h -= p * std::log2(p);
  }
  return std::max(0.0, h - b * ch.h_new - (1 - b) * ch.h_old);
}

double Planner::expected_gain(int commit, int trials) const { return gain(channel(trials), post_.prob_bad(commit)); }

std::vector<int> Planner::candidates() const {
  // The new end shows the new behaviour under every culprit: nothing to
  // learn there. The old end only tells "is the range wrong?", so it is a
  // candidate once built like any built commit.
  const int n = post_.size();
  const auto& b = post_.prob_new();
  std::vector<int> out;
  for (int j = 0; j < params_.quantiles && n > 2; ++j) {
    const double q = (j + 0.5) / params_.quantiles;
    int above = -1, below = -1;
    for (int x = 1; x <= n - 2; ++x) {
      if (b[x] >= q && (above < 0 || b[x] < b[above])) above = x;
      if (b[x] < q && (below < 0 || b[x] >= b[below])) below = x;
    }
    if (above < 0) above = n - 2;
    out.push_back(above);
    if (below >= 0) out.push_back(below);
  }
  for (int c = 0; c < n - 1; ++c)
    if (built(c)) out.push_back(c);
  std::vector<int> testable;
  auto ok = [&](int x) { return x < n - 1 && !untestable_[x]; };
  for (int c : out) {
    if (ok(c)) {
      testable.push_back(c);
      continue;
    }
    if (int d = post_.graph().nearest_up(c, ok); d >= 0) testable.push_back(d);
    if (int d = post_.graph().nearest_down(c, ok); d >= 0) testable.push_back(d);
  }
  std::sort(testable.begin(), testable.end());
  testable.erase(std::unique(testable.begin(), testable.end()), testable.end());
  return testable;
}

Step Planner::plan() const {
  std::vector<Channel> chans;
  for (int t : params_.trial_options) chans.push_back(channel(t));
  Step best;
  double best_score = 0;
  for (int c : candidates()) {
    const double b = post_.prob_bad(c);
    for (const Channel& ch : chans) {
      const double score = gain(ch, b) / cost(c, ch.trials);
      if (score > best_score) best_score = score, best = {c, ch.trials};
    }
  }
  return best;
}

std::vector<Step> Planner::plan_parallel(int slots) const {
  std::vector<Step> picked;
  slots = std::min(slots, 12);  // the joint value enumerates 2^slots outcomes
  if (slots <= 0) return picked;
  const Step first = plan();
  if (first.commit < 0) return picked;
  picked.push_back(first);

  std::vector<Channel> chans;
  for (int t : params_.trial_options) chans.push_back(channel(t));
  auto chan_for = [&](int t) -> const Channel* {
    for (const Channel& ch : chans)
      if (ch.trials == t) return &ch;
    return nullptr;
  };
  const auto& prob = post_.probabilities();

  // I(culprit; any-failure outcomes of the set), in bits. Culprits are
  // grouped by which tests of the set they would make new (on a line these
  // are the segments between the tested commits).
  using Test = std::pair<int, const Channel*>;
  auto joint_info = [&](const std::vector<Test>& set) {
    const int m = static_cast<int>(set.size());
    std::map<unsigned, double> mass;
    for (int c = 0; c < post_.size(); ++c) {
      if (prob[c] <= 0) continue;
      unsigned pattern = 0;
      for (int j = 0; j < m; ++j)
        if (post_.graph().is_ancestor(c, set[j].first)) pattern |= 1u << j;
      mass[pattern] += prob[c];
    }
    auto fail = [&](int j, unsigned pat) { return pat >> j & 1 ? set[j].second->any_new : set[j].second->any_old; };
    double h_cond = 0;
    for (const auto& [pat, w] : mass)
      for (int j = 0; j < m; ++j) h_cond += w * h2(fail(j, pat));
    double h_out = 0;
    for (unsigned o = 0; o < (1u << m); ++o) {
      double p = 0;
      for (const auto& [pat, w] : mass) {
        double pr = w;
        for (int j = 0; j < m && pr > 0; ++j) pr *= (o >> j & 1) ? fail(j, pat) : 1 - fail(j, pat);
        p += pr;
      }
      if (p > 0) h_out -= p * std::log2(p);
    }
    return std::max(0.0, h_out - h_cond);
  };

  std::vector<Test> set = {{first.commit, chan_for(first.trials)}};
  double have = joint_info(set);
  const std::vector<int> cands = candidates();
  while (static_cast<int>(picked.size()) < slots) {
    Step best;
    double best_score = 0, best_info = have;
    for (int c : cands) {
      if (std::any_of(picked.begin(), picked.end(), [&](const Step& s) { return s.commit == c; })) continue;
      for (const Channel& ch : chans) {
        set.push_back({c, &ch});
        const double info = joint_info(set);
        set.pop_back();
        const double score = (info - have) / cost(c, ch.trials);
        if (info - have > 1e-9 && score > best_score) best_score = score, best = {c, ch.trials}, best_info = info;
      }
    }
    if (best.commit < 0) break;  // nothing adds information: fewer steps than slots
    picked.push_back(best);
    set.push_back({best.commit, chan_for(best.trials)});
    have = best_info;
  }
  return picked;
}

}  // namespace rb::bisect
