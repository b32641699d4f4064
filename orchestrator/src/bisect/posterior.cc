#include "bisect/posterior.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>

namespace rb::bisect {

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// x * log(y) with 0 * log(0) = 0: a count of zero contributes nothing even
// where the rate is zero.
double xlog(double x, double y) { return x == 0 ? 0 : x * std::log(y); }

double log_sum_exp(const double* v, size_t n) {
  double m = kNegInf;
  for (size_t i = 0; i < n; ++i) m = std::max(m, v[i]);
  if (m == kNegInf) return kNegInf;
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += std::exp(v[i] - m);
  return m + std::log(s);
}

}  // namespace

CulpritPosterior::CulpritPosterior(int n_commits, PosteriorParams params)
    : n_(n_commits), params_(std::move(params)), table_(n_commits) {
  if (n_ < 2) throw std::invalid_argument("posterior needs at least 2 commits");
  // epsilon == 0 would let one stray failure on a good commit zero every culprit.
  if (!(params_.epsilon > 0 && params_.epsilon < 1)) throw std::invalid_argument("need 0 < epsilon < 1");
  if (params_.grid < 2 || params_.rate_alpha <= 0 || params_.rate_beta <= 0)
    throw std::invalid_argument("bad rate prior");

  prior_.assign(n_, 0.0);
  const auto& w = params_.culprit_prior;
  if (!w.empty() && static_cast<int>(w.size()) != n_) throw std::invalid_argument("culprit prior needs n weights");
  double total = 0;
  for (int c = 1; c < n_; ++c) total += prior_[c] = w.empty() ? 1.0 : std::max(0.0, w[c]);
  if (!(total > 0)) throw std::invalid_argument("culprit prior has no mass");
  prior_cum_.assign(n_, 0.0);
  for (int c = 1; c < n_; ++c) prior_cum_[c] = prior_cum_[c - 1] + (prior_[c] /= total);

  const int G = params_.grid;
  rate_grid_.resize(G);
  log_rate_weight_.resize(G);
  for (int g = 0; g < G; ++g) {
    const double p = (g + 0.5) / G;
    rate_grid_[g] = p;
    log_rate_weight_[g] = (params_.rate_alpha - 1) * std::log(p) + (params_.rate_beta - 1) * std::log1p(-p);
  }
  const double z = log_sum_exp(log_rate_weight_.data(), G);
  for (double& x : log_rate_weight_) x -= z;
  recompute();
}

CulpritPosterior CulpritPosterior::replay(int n_commits, PosteriorParams params, const std::vector<Evidence>& table) {
  if (static_cast<int>(table.size()) != n_commits) throw std::invalid_argument("evidence table needs n rows");
  CulpritPosterior post(n_commits, std::move(params));
  post.table_ = table;
  post.recompute();
  return post;
}

void CulpritPosterior::observe(int commit, int trials, int failures) {
  if (commit < 0 || commit >= n_) throw std::out_of_range("commit outside the range");
  if (trials < 0 || failures < 0 || failures > trials) throw std::invalid_argument("need 0 <= failures <= trials");
  if (trials == 0) return;
  table_[commit].trials += trials;
  table_[commit].failures += failures;
  recompute();
}

void CulpritPosterior::recompute() {
  const int G = params_.grid;
  std::vector<double> lp(G), lq(G);
  for (int g = 0; g < G; ++g) lp[g] = std::log(rate_grid_[g]), lq[g] = std::log1p(-rate_grid_[g]);
  const double eps = params_.epsilon;

  std::vector<int> tested;
  double bad_fail = 0, bad_pass = 0;  // counts at tested commits >= the segment's start
  for (int i = 0; i < n_; ++i)
    if (table_[i].trials > 0) {
      tested.push_back(i);
      bad_fail += table_[i].failures;
      bad_pass += table_[i].trials - table_[i].failures;
    }

  // Segments [lo, hi] of culprits that agree on which tested commits are
  // good (those < lo); each holds one log-likelihood row over the rate grid.
  struct Segment {
    int lo, hi;
    double log_prior, log_mass;
  };
  std::vector<Segment> segs;
  std::vector<double> rows;  // segs.size() x G: log prior(p) + log L(segment, p)
  double good_ll = 0;
  size_t next = 0;
  for (int lo = 1; lo < n_;) {
    for (; next < tested.size() && tested[next] < lo; ++next) {
      const Evidence& e = table_[tested[next]];
      good_ll += xlog(e.failures, eps) + (e.trials - e.failures) * std::log1p(-eps);
      bad_fail -= e.failures;
      bad_pass -= e.trials - e.failures;
    }
    const int hi = next < tested.size() ? std::min(tested[next], n_ - 1) : n_ - 1;
    const double mass = prior_cum_[hi] - prior_cum_[lo - 1];
    const size_t row = rows.size();
    for (int g = 0; g < G; ++g) rows.push_back(log_rate_weight_[g] + good_ll + bad_fail * lp[g] + bad_pass * lq[g]);
    const double log_prior = mass > 0 ? std::log(mass) : kNegInf;
    segs.push_back({lo, hi, log_prior, log_prior + log_sum_exp(rows.data() + row, G)});
    lo = hi + 1;
  }

  std::vector<double> seg_log(segs.size());
  for (size_t s = 0; s < segs.size(); ++s) seg_log[s] = segs[s].log_mass;
  const double z = log_sum_exp(seg_log.data(), seg_log.size());

  prob_.assign(n_, 0.0);
  rate_post_.assign(G, 0.0);
  for (size_t s = 0; s < segs.size(); ++s) {
    const Segment& sg = segs[s];
    if (sg.log_prior == kNegInf) continue;
    const double seg_prob = std::exp(sg.log_mass - z), mass = std::exp(sg.log_prior);
    for (int c = sg.lo; c <= sg.hi; ++c) prob_[c] = seg_prob * prior_[c] / mass;
    for (int g = 0; g < G; ++g) rate_post_[g] += std::exp(sg.log_prior + rows[s * G + g] - z);
  }

  cdf_.assign(n_, 0.0);
  map_ = 1;
  for (int c = 1; c < n_; ++c) {
    cdf_[c] = cdf_[c - 1] + prob_[c];
    if (prob_[c] > prob_[map_]) map_ = c;
  }
  runner_up_ = -1;
  for (int c = 1; c < n_; ++c)
    if (c != map_ && (runner_up_ < 0 || prob_[c] > prob_[runner_up_])) runner_up_ = c;
}

double CulpritPosterior::prob_bad(int commit) const {
  if (commit <= 0) return 0;
  if (commit >= n_ - 1) return 1;
  return std::min(1.0, cdf_[commit]);
}

double CulpritPosterior::entropy_bits() const {
  double h = 0;
  for (double p : prob_)
    if (p > 0) h -= p * std::log2(p);
  return h;
}

double CulpritPosterior::mean_rate() const {
  double m = 0;
  for (size_t g = 0; g < rate_grid_.size(); ++g) m += rate_grid_[g] * rate_post_[g];
  return m;
}

}  // namespace rb::bisect
