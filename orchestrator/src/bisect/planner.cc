#include "bisect/planner.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace rb::bisect {

namespace {

double log_choose(int n, int k) { return std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0); }

double h2(double p) { return p <= 0 || p >= 1 ? 0 : -p * std::log2(p) - (1 - p) * std::log2(1 - p); }

double entropy(const std::vector<double>& dist) {
  double h = 0;
  for (double p : dist)
    if (p > 0) h -= p * std::log2(p);
  return h;
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
  return built_[commit] || post_.evidence()[commit].trials > 0;
}

Planner::Channel Planner::channel(int t) const {
  Channel ch{t, std::vector<double>(t + 1, 0.0), std::vector<double>(t + 1), 0, 0, 0, 0};
  const auto& grid = post_.rate_grid();
  const auto& w = post_.rate_posterior();
  for (size_t g = 0; g < grid.size(); ++g) {
    if (w[g] <= 0) continue;
    // Binomial pmf by recurrence: one exp per grid point instead of per k.
    const double p = grid[g], odds = p / (1 - p);
    double pmf = std::exp(t * std::log1p(-p));
    for (int k = 0; k <= t; ++k) {
      ch.bad[k] += w[g] * pmf;
      pmf *= odds * (t - k) / (k + 1);
    }
  }
  const double eps = post_.params().epsilon;
  for (int k = 0; k <= t; ++k) ch.good[k] = std::exp(log_choose(t, k) + k * std::log(eps) + (t - k) * std::log1p(-eps));
  ch.any_bad = 1 - ch.bad[0];
  ch.any_good = -std::expm1(t * std::log1p(-eps));  // exact for tiny epsilon
  ch.h_bad = entropy(ch.bad);
  ch.h_good = entropy(ch.good);
  return ch;
}

// I(X; K) = H(K) - H(K | X): the conditional part is fixed per channel, so
// each candidate costs one pass of logs.
double Planner::gain(const Channel& ch, double b) {
  if (b <= 0 || b >= 1) return 0;
  double h = 0;
  for (int k = 0; k <= ch.trials; ++k) {
    const double p = b * ch.bad[k] + (1 - b) * ch.good[k];
    if (p > 0) h -= p * std::log2(p);
  }
  return std::max(0.0, h - b * ch.h_bad - (1 - b) * ch.h_good);
}

double Planner::expected_gain(int commit, int trials) const { return gain(channel(trials), post_.prob_bad(commit)); }

std::vector<int> Planner::candidates() const {
  // Commit 0 and n-1 are known good and bad: nothing to learn about c there.
  const int n = post_.size();
  std::vector<int> out;
  if (n < 3) return out;
  for (int j = 0; j < params_.quantiles; ++j) {
    const double q = (j + 0.5) / params_.quantiles;
    int lo = 1, hi = n - 2;  // first commit whose CDF reaches q (or n-2)
    while (lo < hi) {
      const int mid = lo + (hi - lo) / 2;
      if (post_.prob_bad(mid) >= q) hi = mid;
      else lo = mid + 1;
    }
    out.push_back(lo);
    if (lo > 1) out.push_back(lo - 1);
  }
  for (int c = 1; c < n - 1; ++c)
    if (built(c)) out.push_back(c);
  // Replace untestable picks by their nearest testable neighbours.
  std::vector<int> testable;
  for (int c : out) {
    if (!untestable_[c]) {
      testable.push_back(c);
      continue;
    }
    for (int d = c - 1; d >= 1; --d)
      if (!untestable_[d]) {
        testable.push_back(d);
        break;
      }
    for (int d = c + 1; d <= n - 2; ++d)
      if (!untestable_[d]) {
        testable.push_back(d);
        break;
      }
  }
  out = std::move(testable);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
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

  // I(culprit region; any-failure outcomes of the set), in bits.
  using Test = std::pair<int, const Channel*>;
  auto joint_info = [&](std::vector<Test> set) {
    std::sort(set.begin(), set.end(), [](const Test& a, const Test& b) { return a.first < b.first; });
    const int m = static_cast<int>(set.size());
    // Region r: culprit in (s[r-1], s[r]]; tests j >= r are on bad commits.
    std::vector<double> mass(m + 1);
    double prev = 0;
    for (int r = 0; r <= m; ++r) {
      const double cdf = r < m ? post_.prob_bad(set[r].first) : 1.0;
      mass[r] = std::max(0.0, cdf - prev);
      prev = cdf;
    }
    auto fail = [&](int j, int r) { return j >= r ? set[j].second->any_bad : set[j].second->any_good; };
    double h_cond = 0;
    for (int r = 0; r <= m; ++r)
      for (int j = 0; j < m; ++j) h_cond += mass[r] * h2(fail(j, r));
    double h_out = 0;
    for (int o = 0; o < (1 << m); ++o) {
      double p = 0;
      for (int r = 0; r <= m; ++r) {
        double pr = mass[r];
        for (int j = 0; j < m && pr > 0; ++j) pr *= (o >> j & 1) ? fail(j, r) : 1 - fail(j, r);
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
