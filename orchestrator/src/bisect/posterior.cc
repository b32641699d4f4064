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
  std::vector<std::pair<double, double>> mix{{1.0, std::log1p(-P.rate_change)}};
  for (double f : P.change_factors)
    if (P.rate_change > 0) mix.push_back({f, std::log(P.rate_change / P.change_factors.size())});
  auto sum_boots = [&](double p, double rho) {
    double s = 0;
    for (const auto& [tk, count] : boots_[x]) s += count * boot_log_lik(tk.first, tk.second, p, rho);
    return s;
  };
  std::vector<double> A(R * NP), C(R * NE);
  for (int r = 0; r < R; ++r) {
    const double rho = P.dispersion[r];
    for (int j = 0; j < NP; ++j) {
      std::vector<double> terms;
      const double p = p_grid_[j];
      for (const auto& [f, lw] : mix) terms.push_back(lw + sum_boots(std::max(p * f, std::min(p, P.change_floor)), rho));
      A[r * NP + j] = log_sum_exp(terms.data(), terms.size());
    }
    for (int i = 0; i < NE; ++i) C[r * NE + i] = sum_boots(e_grid_[i], rho);
  }
  auto& nr = new_row_[x];
  auto& orow = old_row_[x];
  nr.resize(theta_.size());
  orow.resize(theta_.size());
  for (size_t t = 0; t < theta_.size(); ++t) {
    const double a = A[theta_[t].r * NP + theta_[t].p], c = C[theta_[t].r * NE + theta_[t].e];
    nr[t] = P.fix ? c : a;
    orow[t] = P.fix ? a : c;
  }
  row_dirty_[x] = false;
}

void CulpritPosterior::ensure() const {
  if (dirty_) recompute();
}

void CulpritPosterior::recompute() const {
  const int n = size();
  const size_t T = theta_.size();
  std::vector<int> tested;
  for (int x = 0; x < n; ++x)
    if (!boots_[x].empty()) {
      if (row_dirty_[x] || new_row_[x].empty()) build_rows(x);
      tested.push_back(x);
    }
  const int k = static_cast<int>(tested.size());

  std::vector<double> base(T);
  for (size_t t = 0; t < T; ++t) base[t] = theta_[t].log_prior;
  for (int x : tested)
    for (size_t t = 0; t < T; ++t) base[t] += old_row_[x][t];

  // Signature of each culprit: which tested commits it is an ancestor of.
  std::vector<Bits> sig(n, Bits(k));
  for (int j = 0; j < k; ++j) graph_.ancestors(tested[j]).for_each([&](int c) { sig[c].set(j); });
  std::map<std::vector<uint64_t>, int> ids;
  struct Group {
    Bits bits;
    double mass = 0;
    std::vector<double> sum;  // log prior(theta) + log L(group, theta)
    double log_lik = kNegInf;
  };
  std::vector<Group> groups;
  group_.assign(n, -1);
  for (int c = 0; c < n; ++c) {
    auto [it, fresh] = ids.try_emplace(sig[c].words(), static_cast<int>(groups.size()));
    if (fresh) groups.push_back({sig[c], 0, {}, kNegInf});
    group_[c] = it->second;
    groups[it->second].mass += prior_[c];
  }

  // Each group's sum starts from the largest already-summed subset: in a
  // linear history that is the previous segment, one row away.
  std::vector<int> order(groups.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return groups[a].bits.count() < groups[b].bits.count(); });
  std::vector<int> done;
  for (int g : order) {
    Group& G = groups[g];
    int from = -1;
    if (done.size() <= 512)
      for (int h : done)
        if (groups[h].bits.subset_of(G.bits) && (from < 0 || groups[h].bits.count() > groups[from].bits.count()))
          from = h;
    G.sum = from >= 0 ? groups[from].sum : base;
    G.bits.for_each([&](int j) {
      if (from >= 0 && groups[from].bits.test(j)) return;
      const auto& nr = new_row_[tested[j]];
      const auto& orow = old_row_[tested[j]];
      for (size_t t = 0; t < T; ++t) G.sum[t] += nr[t] - orow[t];
    });
    G.log_lik = log_sum_exp(G.sum.data(), T);
    done.push_back(g);
  }

  std::vector<double> lw(groups.size(), kNegInf);
  for (size_t g = 0; g < groups.size(); ++g)
    if (groups[g].mass > 0) lw[g] = std::log(groups[g].mass) + groups[g].log_lik;
  const double z = log_sum_exp(lw.data(), lw.size());

  prob_.assign(n, 0.0);
  for (int c = 0; c < n; ++c)
    if (prior_[c] > 0) prob_[c] = std::exp(groups[group_[c]].log_lik - z) * prior_[c];
  prob_new_ = graph_.ancestor_sums(prob_);
  for (double& p : prob_new_) p = std::min(1.0, p);

  const auto& P = params_;
  rate_post_.assign(P.rate_points, 0.0);
  flake_post_.assign(P.flake_points, 0.0);
  disp_post_.assign(P.dispersion.size(), 0.0);
  for (size_t g = 0; g < groups.size(); ++g) {
    if (lw[g] == kNegInf) continue;
    const double wg = std::exp(lw[g] - z);
    for (size_t t = 0; t < T; ++t) {
      const double w = wg * std::exp(groups[g].sum[t] - groups[g].log_lik);
      rate_post_[theta_[t].p] += w;
      flake_post_[theta_[t].e] += w;
      disp_post_[theta_[t].r] += w;
    }
  }

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
