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

// E[min(first failure, t)] trials, mixed over a rate posterior.
double expected_trials(int t, const std::vector<double>& grid, const std::vector<double>& w) {
  double e = 0;
  for (size_t g = 0; g < grid.size(); ++g)
    if (w[g] > 0) e += w[g] * (grid[g] > 0 ? -std::expm1(t * std::log1p(-grid[g])) / grid[g] : t);
  return e;
}

// P(k failures in one boot of t trials): beta-binomial with mean p and
// intra-boot correlation rho (binomial at rho 0), by the recurrence of its
// pmf ratio.
std::vector<double> boot_pmf(int t, double p, double rho) {
  std::vector<double> f(t + 1);
  const double r = rho / (1 - rho);
  double log0 = 0;
  for (int j = 0; j < t; ++j) log0 += std::log(1 - p + j * r) - std::log(1 + j * r);
  f[0] = std::exp(log0);
  for (int k = 0; k < t; ++k) f[k + 1] = f[k] * (t - k) / (k + 1) * (p + k * r) / (1 - p + (t - k - 1) * r);
  return f;
}

// P(k failures in t trials run as boots of `per_boot`), k = 0..t.
std::vector<double> step_pmf(int t, int per_boot, double p, double rho) {
  std::vector<double> out{1.0};
  for (int left = t; left > 0; left -= per_boot) {
    const auto b = boot_pmf(std::min(left, per_boot), p, rho);
    std::vector<double> next(out.size() + b.size() - 1, 0.0);
    for (size_t i = 0; i < out.size(); ++i)
      for (size_t j = 0; j < b.size(); ++j) next[i + j] += out[i] * b[j];
    out = std::move(next);
  }
  return out;
}

// P(k failures in t trials), k = 0..t, mixed over rate and rho posteriors.
std::vector<double> count_mixture(int t, int per_boot, const std::vector<double>& grid, const std::vector<double>& w,
                                  const std::vector<double>& rhos, const std::vector<double>& rho_w) {
  std::vector<double> out(t + 1, 0.0);
  for (size_t r = 0; r < rhos.size(); ++r) {
    if (rho_w[r] <= 1e-9) continue;
    for (size_t g = 0; g < grid.size(); ++g) {
      if (w[g] <= 1e-12) continue;
      const auto f = step_pmf(t, per_boot, grid[g], rhos[r]);
      for (int k = 0; k <= t; ++k) out[k] += rho_w[r] * w[g] * f[k];
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
  // An affected commit fails at the common rate, or at a fraction of it
  // when it lies between the culprit and a later rate change: the planner
  // must not expect more of a clean run than the posterior will take from
  // it. The change point is uniform after the culprit, so an affected commit
  // precedes it with probability about 1/2.
  const auto& P = post_.params();
  const double low = P.rate_change / 2;
  std::vector<double> grid, w;
  for (size_t j = 0; j < post_.rate_grid().size(); ++j) {
    grid.push_back(post_.rate_grid()[j]);
    w.push_back(post_.rate_posterior()[j] * (1 - low));
    for (double f : P.change_factors) {
      grid.push_back(post_.rate_grid()[j] * f);
      w.push_back(post_.rate_posterior()[j] * low / P.change_factors.size());
    }
  }
  const int b = params_.trials_per_boot;
  const auto& rho_w = post_.dispersion_posterior();
  auto affected = count_mixture(t, b, grid, w, P.dispersion, rho_w);
  auto clean = count_mixture(t, b, post_.flake_grid(), post_.flake_posterior(), P.dispersion, rho_w);
  const double t_affected = expected_trials(t, grid, w);
  const double t_clean = expected_trials(t, post_.flake_grid(), post_.flake_posterior());
  Channel ch{t, {}, {}, 0, 0, 0, 0, 0, 0};
  ch.fresh = post_.params().fix ? clean : affected;
  ch.old = post_.params().fix ? affected : clean;
  ch.t_new = post_.params().fix ? t_clean : t_affected;
  ch.t_old = post_.params().fix ? t_affected : t_clean;
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

double Planner::cost(int commit, const Channel& ch) const {
  const double b = post_.prob_bad(commit);
  return b * ch.t_new + (1 - b) * ch.t_old + params_.step_cost + (built(commit) ? 0 : params_.build_cost);
}

double Planner::cost(int commit, int trials) const { return cost(commit, channel(trials)); }

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
      const double score = gain(ch, b) / cost(c, ch);
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
        const double score = (info - have) / cost(c, ch);
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
