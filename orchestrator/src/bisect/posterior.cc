#include "bisect/posterior.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace rb::bisect {

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

double log_sum_exp(const double* v, size_t n) {
  double m = kNegInf;
  for (size_t i = 0; i < n; ++i) m = std::max(m, v[i]);
  if (m == kNegInf) return kNegInf;
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += std::exp(v[i] - m);
  return m + std::log(s);
}

// log P(k failures in t trials of one boot), up to the binomial coefficient
// (the same under every hypothesis). Beta-binomial with mean p and
// intra-boot correlation rho; rho = 0 is the binomial.
double boot_log_lik(int t, int k, double p, double rho) {
  if (rho == 0) return (k ? k * std::log(p) : 0.0) + (t - k) * std::log1p(-p);
  const double r = rho / (1 - rho);
  double s = 0;
  for (int i = 0; i < k; ++i) s += std::log(p + i * r);
  for (int j = 0; j < t - k; ++j) s += std::log(1 - p + j * r);
  for (int m = 0; m < t; ++m) s -= std::log(1 + m * r);
  return s;
}

double logit(double p) { return std::log(p / (1 - p)); }

}  // namespace

CulpritPosterior::CulpritPosterior(const CommitGraph& graph, PosteriorParams params)
    : graph_(graph), params_(std::move(params)) {
  const auto& P = params_;
  const int n = graph_.size();
  if (!(P.rate_min > 0 && P.rate_min < P.rate_max && P.rate_max < 1) || P.rate_points < 2)
    throw std::invalid_argument("need 0 < rate_min < rate_max < 1 and >= 2 rate points");
  if (!(P.flake_min > 0 && P.flake_min <= P.flake_max && P.flake_max < 1) || P.flake_points < 1 || P.flake_decay <= 0)
    throw std::invalid_argument("need 0 < flake_min <= flake_max < 1");
  if (P.dispersion.empty() || P.dispersion.size() != P.dispersion_prior.size())
    throw std::invalid_argument("dispersion grid and prior need the same non-zero size");
  for (double r : P.dispersion)
    if (r < 0 || r >= 1) throw std::invalid_argument("need 0 <= dispersion < 1");
  if (P.rate_change < 0 || P.rate_change >= 1 || (P.rate_change > 0 && P.change_factors.empty()))
    throw std::invalid_argument("need 0 <= rate_change < 1 and change factors");
  if (!(P.p_range_wrong > 0 && P.p_range_wrong < 1)) throw std::invalid_argument("need 0 < p_range_wrong < 1");
  if (P.min_ratio < 1) throw std::invalid_argument("need min_ratio >= 1");
  if (!(P.change_floor >= 0 && P.change_floor < 1)) throw std::invalid_argument("need 0 <= change_floor < 1");

  const double lo = logit(P.rate_min), hi = logit(P.rate_max);
  for (int j = 0; j < P.rate_points; ++j) {
    const double p = 1 / (1 + std::exp(-(lo + (hi - lo) * j / (P.rate_points - 1))));
    p_grid_.push_back(p);
    log_p_prior_.push_back(P.rate_prior_a * std::log(p) + P.rate_prior_b * std::log1p(-p));
  }
  for (int i = 0; i < P.flake_points; ++i) {
    const double f = P.flake_points == 1 ? 0 : double(i) / (P.flake_points - 1);
    e_grid_.push_back(P.flake_min * std::pow(P.flake_max / P.flake_min, f));
    log_e_prior_.push_back(i * std::log(P.flake_decay));
  }
  for (double w : P.dispersion_prior) log_r_prior_.push_back(w > 0 ? std::log(w) : kNegInf);
  for (int r = 0; r < static_cast<int>(P.dispersion.size()); ++r)
    for (int j = 0; j < P.rate_points; ++j)
      for (int i = 0; i < P.flake_points; ++i)
        if (e_grid_[i] * P.min_ratio <= p_grid_[j])
          theta_.push_back({r, j, i, log_r_prior_[r] + log_p_prior_[j] + log_e_prior_[i]});
  if (theta_.empty()) throw std::invalid_argument("no rate pair satisfies min_ratio");
  std::vector<double> lp;
  for (const Theta& t : theta_) lp.push_back(t.log_prior);
  const double z = log_sum_exp(lp.data(), lp.size());
  for (Theta& t : theta_) t.log_prior -= z;

  prior_.assign(n, 0.0);
  const auto& w = P.culprit_prior;
  if (!w.empty() && static_cast<int>(w.size()) != n) throw std::invalid_argument("culprit prior needs n weights");
  double total = 0;
  for (int c = 1; c < n; ++c) total += prior_[c] = w.empty() ? 1.0 : std::max(0.0, w[c]);
  if (!(total > 0)) throw std::invalid_argument("culprit prior has no mass");
  for (int c = 1; c < n; ++c) prior_[c] *= (1 - P.p_range_wrong) / total;
  prior_[0] = P.p_range_wrong;

  boots_.assign(n, {});
  row_dirty_.assign(n, false);
  new_row_.assign(n, {});
  old_row_.assign(n, {});
  low_row_.assign(n, {});
}

void CulpritPosterior::observe(int commit, BootCount boot) {
  if (commit < 0 || commit >= size()) throw std::out_of_range("commit outside the range");
  if (boot.trials < 0 || boot.failures < 0 || boot.failures > boot.trials)
    throw std::invalid_argument("need 0 <= failures <= trials");
  if (boot.trials == 0) return;
  ++boots_[commit][{boot.trials, boot.failures}];
  row_dirty_[commit] = true;
  dirty_ = true;
}

void CulpritPosterior::reset(int commit) {
  if (commit < 0 || commit >= size()) throw std::out_of_range("commit outside the range");
  if (boots_[commit].empty()) return;
  boots_[commit].clear();
  new_row_[commit].clear();
  old_row_[commit].clear();
  low_row_[commit].clear();
  dirty_ = true;
}

void CulpritPosterior::observe(int commit, int trials, int failures, int per_boot) {
  if (trials < 0 || failures < 0 || failures > trials || per_boot < 1)
    throw std::invalid_argument("need 0 <= failures <= trials");
  // Failures spread evenly over the boots: no sign of over-dispersion.
  const int boots = (trials + per_boot - 1) / per_boot;
  for (int b = 0; b < boots; ++b) {
    const int t = std::min(per_boot, trials - b * per_boot);
    const int k = failures * (b + 1) / boots - failures * b / boots;
    observe(commit, BootCount{t, std::min(t, k)});
  }
}

// The commit's log-likelihood over theta if it is affected (A) and if it is
// clean (C); new/old per the search direction.
void CulpritPosterior::build_rows(int x) const {
  const auto& P = params_;
  const int R = static_cast<int>(P.dispersion.size()), NP = P.rate_points, NE = P.flake_points;
  const int F = P.rate_change > 0 ? static_cast<int>(P.change_factors.size()) : 0;
  auto sum_boots = [&](double p, double rho) {
    double s = 0;
    for (const auto& [tk, count] : boots_[x]) s += count * boot_log_lik(tk.first, tk.second, p, rho);
    return s;
  };
  // A: affected at p; L[f]: affected at the lowered rate; C: clean (flake e).
  std::vector<double> A(R * NP), L(F * R * NP), C(R * NE);
  for (int r = 0; r < R; ++r) {
    const double rho = P.dispersion[r];
    for (int j = 0; j < NP; ++j) {
      const double p = p_grid_[j];
      A[r * NP + j] = sum_boots(p, rho);
      for (int f = 0; f < F; ++f)
        L[(f * R + r) * NP + j] = sum_boots(std::max(p * P.change_factors[f], std::min(p, P.change_floor)), rho);
    }
    for (int i = 0; i < NE; ++i) C[r * NE + i] = sum_boots(e_grid_[i], rho);
  }
  const size_t T = theta_.size();
  auto& nr = new_row_[x];
  auto& orow = old_row_[x];
  auto& low = low_row_[x];
  nr.resize(T);
  orow.resize(T);
  low.resize(F * T);
  for (size_t t = 0; t < T; ++t) {
    const Theta& th = theta_[t];
    const double a = A[th.r * NP + th.p], c = C[th.r * NE + th.e];
    nr[t] = P.fix ? c : a;
    orow[t] = P.fix ? a : c;
    for (int f = 0; f < F; ++f) low[f * T + t] = L[(f * R + th.r) * NP + th.p] - c;
  }
  row_dirty_[x] = false;
}

void CulpritPosterior::ensure() const {
  if (dirty_) recompute();
}

// Groups culprits by signature (which tested commits descend from them) and
// sums each group's no-change log-likelihood over theta.
void CulpritPosterior::build_groups() const {
  const int n = size();
  const size_t T = theta_.size();
  tested_.clear();
  for (int x = 0; x < n; ++x)
    if (!boots_[x].empty()) {
      if (row_dirty_[x] || new_row_[x].empty()) build_rows(x);
      tested_.push_back(x);
    }
  const int k = static_cast<int>(tested_.size());

  std::vector<double> base(T);
  for (size_t t = 0; t < T; ++t) base[t] = theta_[t].log_prior;
  for (int x : tested_)
    for (size_t t = 0; t < T; ++t) base[t] += old_row_[x][t];

  std::vector<Bits> sig(n, Bits(k));
  for (int j = 0; j < k; ++j) graph_.ancestors(tested_[j]).for_each([&](int c) { sig[c].set(j); });
  std::map<std::vector<uint64_t>, int> ids;
  groups_.clear();
  group_.assign(n, -1);
  for (int c = 0; c < n; ++c) {
    auto [it, fresh] = ids.try_emplace(sig[c].words(), static_cast<int>(groups_.size()));
    if (fresh) groups_.push_back({sig[c], {}, kNegInf});
    group_[c] = it->second;
  }

  // Each group's sum starts from the largest already-summed subset: in a
  // linear history that is the previous segment, one row away.
  std::vector<int> order(groups_.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return groups_[a].bits.count() < groups_[b].bits.count(); });
  std::vector<int> done;
  for (int g : order) {
    Group& G = groups_[g];
    int from = -1;
    if (done.size() <= 512)
      for (int h : done)
        if (groups_[h].bits.subset_of(G.bits) && (from < 0 || groups_[h].bits.count() > groups_[from].bits.count()))
          from = h;
    G.sum = from >= 0 ? groups_[from].sum : base;
    G.bits.for_each([&](int j) {
      if (from >= 0 && groups_[from].bits.test(j)) return;
      const auto& nr = new_row_[tested_[j]];
      const auto& orow = old_row_[tested_[j]];
      for (size_t t = 0; t < T; ++t) G.sum[t] += nr[t] - orow[t];
    });
    G.log_lik = log_sum_exp(G.sum.data(), T);
    done.push_back(g);
  }
}

// counts_[c][h]: how many of c's change points fall in group h. Groups only
// change when a commit is tested for the first time, so this is redone then.
void CulpritPosterior::count_change_points() const {
  const int n = size(), G = static_cast<int>(groups_.size());
  if (counted_for_ == tested_ && static_cast<int>(counts_.size()) == n) return;
  counted_for_ = tested_;
  counts_.assign(n, std::vector<int>(G, 0));
  if (params_.rate_change == 0) return;
  if (graph_.is_linear()) {
    // Change points are the nodes after c (regression) or 1..c-1 (fix).
    std::vector<int> seen(G, 0);
    for (int i = 0; i < n; ++i) {
      const int c = params_.fix ? i : n - 1 - i;
      counts_[c] = seen;
      if (!params_.fix || c > 0) ++seen[group_[c]];
    }
    return;
  }
  auto add = [&](int c, int k) { ++counts_[c][group_[k]]; };
  for (int x = 1; x < n; ++x)
    graph_.ancestors(x).for_each([&](int a) {
      if (a == x) return;
      if (params_.fix) {
        if (a != 0) add(x, a);  // x's change points are its ancestors but node 0
      } else {
        add(a, x);  // a's change points are its descendants
      }
    });
}

int CulpritPosterior::change_points(int c) const {
  return std::accumulate(counts_[c].begin(), counts_[c].end(), 0);
}

// The change hypothesis (culprit in group g, rate final from group h on, factor
// f) over theta: h's no-change sum with the commits between them lowered.
std::vector<double> CulpritPosterior::change_sum(int g, int h, int f) const {
  const size_t T = theta_.size();
  std::vector<double> v = groups_[h].sum;
  const Bits& a = groups_[g].bits;
  const Bits& b = groups_[h].bits;
  for (int j = 0; j < a.size(); ++j)
    if (a.test(j) != b.test(j)) {
      const double* d = low_row_[tested_[j]].data() + f * T;
      for (size_t t = 0; t < T; ++t) v[t] += d[t];
    }
  return v;
}

// pair_lik_[g * G + h]: log of the mean over factors of the likelihood of a
// change hypothesis, for every pair some culprit needs.
void CulpritPosterior::sum_change_pairs() const {
  const int n = size(), G = static_cast<int>(groups_.size());
  const int F = static_cast<int>(params_.change_factors.size());
  pair_lik_.assign(static_cast<size_t>(G) * G, kNegInf);
  if (params_.rate_change == 0) return;
  std::vector<bool> needed(static_cast<size_t>(G) * G, false);
  for (int c = 0; c < n; ++c)
    for (int h = 0; h < G; ++h)
      if (counts_[c][h]) needed[group_[c] * G + h] = true;
  for (int g = 0; g < G; ++g)
    for (int h = 0; h < G; ++h) {
      if (!needed[g * G + h]) continue;
      std::vector<double> per_f;
      for (int f = 0; f < F; ++f) {
        const auto v = change_sum(g, h, f);
        per_f.push_back(log_sum_exp(v.data(), v.size()));
      }
      pair_lik_[g * G + h] = log_sum_exp(per_f.data(), per_f.size()) - std::log(F);
    }
}

// log P(c, data): no change, or a change at one of c's change points,
// each equally likely.
double CulpritPosterior::culprit_log_weight(int c) const {
  if (prior_[c] <= 0) return kNegInf;
  const int g = group_[c], G = static_cast<int>(groups_.size());
  const double nc = groups_[g].log_lik;
  const int changes = change_points(c);
  if (changes == 0) return std::log(prior_[c]) + nc;
  std::vector<double> terms{std::log1p(-params_.rate_change) + nc};
  const double each = std::log(params_.rate_change / changes);
  for (int h = 0; h < G; ++h)
    if (counts_[c][h]) terms.push_back(each + std::log(counts_[c][h]) + pair_lik_[g * G + h]);
  return std::log(prior_[c]) + log_sum_exp(terms.data(), terms.size());
}

// Marginals of rate, flake rate and rho: every hypothesis's theta vector,
// weighted by its share of the posterior.
void CulpritPosterior::sum_marginals(double z) const {
  const auto& P = params_;
  const int n = size(), G = static_cast<int>(groups_.size());
  const int F = static_cast<int>(P.change_factors.size());
  std::vector<double> w_nc(G, 0.0), w_pair(static_cast<size_t>(G) * G, 0.0);
  for (int c = 0; c < n; ++c) {
    if (prior_[c] <= 0) continue;
    const int g = group_[c];
    const int changes = change_points(c);
    const double keep = changes ? 1 - P.rate_change : 1.0;
    w_nc[g] += prior_[c] * keep * std::exp(groups_[g].log_lik - z);
    for (int h = 0; h < G; ++h)
      if (counts_[c][h])
        w_pair[g * G + h] += prior_[c] * P.rate_change * counts_[c][h] / changes *
                             std::exp(pair_lik_[g * G + h] - z);
  }
  rate_post_.assign(P.rate_points, 0.0);
  flake_post_.assign(P.flake_points, 0.0);
  disp_post_.assign(P.dispersion.size(), 0.0);
  auto add = [&](const std::vector<double>& v, double w, double log_norm) {
    for (size_t t = 0; t < theta_.size(); ++t) {
      const double u = w * std::exp(v[t] - log_norm);
      rate_post_[theta_[t].p] += u;
      flake_post_[theta_[t].e] += u;
      disp_post_[theta_[t].r] += u;
    }
  };
  constexpr double kNegligible = 1e-12;
  for (int g = 0; g < G; ++g)
    if (w_nc[g] > kNegligible) add(groups_[g].sum, w_nc[g], groups_[g].log_lik);
  for (int g = 0; g < G; ++g)
    for (int h = 0; h < G; ++h)
      if (w_pair[g * G + h] > kNegligible)
        for (int f = 0; f < F; ++f)
          add(change_sum(g, h, f), w_pair[g * G + h] / F, pair_lik_[g * G + h]);
}

void CulpritPosterior::recompute() const {
  const int n = size();
  build_groups();
  count_change_points();
  sum_change_pairs();

  std::vector<double> lw(n);
  for (int c = 0; c < n; ++c) lw[c] = culprit_log_weight(c);
  const double z = log_sum_exp(lw.data(), lw.size());
  prob_.assign(n, 0.0);
  for (int c = 0; c < n; ++c)
    if (lw[c] != kNegInf) prob_[c] = std::exp(lw[c] - z);
  prob_new_ = graph_.ancestor_sums(prob_);
  for (double& p : prob_new_) p = std::min(1.0, p);
  sum_marginals(z);

  map_ = 0;
  for (int c = 1; c < n; ++c)
    if (prob_[c] > prob_[map_]) map_ = c;
  runner_up_ = -1;
  for (int c = 0; c < n; ++c)
    if (c != map_ && (runner_up_ < 0 || prob_[c] > prob_[runner_up_])) runner_up_ = c;
  dirty_ = false;
}

const std::vector<double>& CulpritPosterior::probabilities() const {
  ensure();
  return prob_;
}

const std::vector<double>& CulpritPosterior::prob_new() const {
  ensure();
  return prob_new_;
}

int CulpritPosterior::map_culprit() const {
  ensure();
  return map_;
}

int CulpritPosterior::runner_up() const {
  ensure();
  return runner_up_;
}

std::vector<int> CulpritPosterior::group_of(int c) const {
  ensure();
  std::vector<int> out;
  for (int x = 0; x < size(); ++x)
    if (group_[x] == group_[c] && (x == c || prob_[x] > 0 || prior_[x] > 0)) out.push_back(x);
  return out;
}

double CulpritPosterior::entropy_bits() const {
  double h = 0;
  for (double p : probabilities())
    if (p > 0) h -= p * std::log2(p);
  return h;
}

const std::vector<double>& CulpritPosterior::rate_posterior() const {
  ensure();
  return rate_post_;
}

const std::vector<double>& CulpritPosterior::flake_posterior() const {
  ensure();
  return flake_post_;
}

const std::vector<double>& CulpritPosterior::dispersion_posterior() const {
  ensure();
  return disp_post_;
}

double CulpritPosterior::mean_rate() const {
  const auto& w = rate_posterior();
  double m = 0;
  for (size_t j = 0; j < w.size(); ++j) m += w[j] * p_grid_[j];
  return m;
}

double CulpritPosterior::rate_quantile(double q) const {
  const auto& w = rate_posterior();
  double acc = 0;
  for (size_t j = 0; j < w.size(); ++j)
    if ((acc += w[j]) >= q) return p_grid_[j];
  return p_grid_.back();
}

double CulpritPosterior::mean_flake() const {
  const auto& w = flake_posterior();
  double m = 0;
  for (size_t i = 0; i < w.size(); ++i) m += w[i] * e_grid_[i];
  return m;
}

}  // namespace rb::bisect
