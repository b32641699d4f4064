#include "report/compare.h"

#include <fmt/format.h>

#include <cmath>
#include <map>

#include "report/text.h"
#include "stats/two_sample.h"
#include "util/error.h"

namespace rb::report {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Exposure cells: exact conditional test and interval on the ratio; the
// difference interval combines two Garwood intervals at 1 - alpha/2 each, so
// it covers with probability >= 1 - alpha (Bonferroni).
void compare_exposure(CellComparison& c, double alpha) {
  const auto& ra = c.sa.rate;
  const auto& rb = c.sb.rate;
  const auto rr = stats::rate_ratio(rb.failures, rb.exposure_s, ra.failures, ra.exposure_s, 1 - alpha);
  c.p_value = rr.p_value;
  c.ratio = rr.ratio;
  c.ratio_ci = rr.ci;
  const auto ga = stats::garwood(ra.failures, ra.exposure_s, 1 - alpha / 2);
  const auto gb = stats::garwood(rb.failures, rb.exposure_s, 1 - alpha / 2);
  c.difference = rb.rate - ra.rate;
  c.difference_ci = {gb.low - ga.high, gb.high - ga.low};
}

void compare_per_trial(CellComparison& c, double alpha) {
  c.p_value = stats::boschloo(c.sb.failures, c.sb.trials, c.sa.failures, c.sa.trials).p_value;
  const auto d = stats::newcombe_difference(c.sb.failures, c.sb.trials, c.sa.failures, c.sa.trials, 1 - alpha);
  c.difference = d.estimate;
  c.difference_ci = d.ci;
  c.ratio = std::nan("");
  c.ratio_ci = {0, kInf};
}

std::string figures(const CellComparison& c) {
  if (c.measure == Measure::Exposure)
    return fmt::format("{} -> {} (ratio {} [{}, {}])", rate_per_s(c.sa.rate.rate), rate_per_s(c.sb.rate.rate),
                       std::isnan(c.ratio) ? "-" : fmt::format("{:.3g}", c.ratio), fmt::format("{:.3g}", c.ratio_ci.low),
                       fmt::format("{:.3g}", c.ratio_ci.high));
  return fmt::format("{}/{} -> {}/{} (difference {:+.1f} points [{:+.1f}, {:+.1f}])", c.sa.failures, c.sa.trials,
                     c.sb.failures, c.sb.trials, 100 * c.difference, 100 * c.difference_ci.low,
                     100 * c.difference_ci.high);
}

void classify(CellComparison& c, const CompareParams& p) {
  const bool exposure = c.measure == Measure::Exposure;
  if (c.adjusted_p <= p.alpha) {
    c.verdict = c.difference > 0 ? CellVerdict::Regression : CellVerdict::Improvement;
    c.reason = fmt::format("{}: {}, Holm-adjusted p = {}", c.difference > 0 ? "failure rate rose" : "failure rate fell",
                           figures(c), p_value(c.adjusted_p));
    return;
  }
  const double margin = exposure ? p.min_rate_difference : p.min_difference;
  const bool small_difference = c.difference_ci.low > -margin && c.difference_ci.high < margin;
  const bool small_ratio = exposure && c.ratio_ci.low > 1 / p.min_ratio && c.ratio_ci.high < p.min_ratio;
  const std::string margin_text =
      exposure ? fmt::format("+/-{} or a factor of {:g}", rate_per_s(margin), p.min_ratio)
               : fmt::format("+/-{:.0f} points", 100 * margin);
  if (small_difference || small_ratio) {
    c.verdict = CellVerdict::NoChange;
    c.reason = fmt::format("{}; the {:.0f}% interval excludes a change of {}", figures(c),
                           100 * (1 - p.alpha), margin_text);
    return;
  }
  c.verdict = CellVerdict::Inconclusive;
  if (!exposure && stats::boschloo_min_p(c.sa.trials, c.sb.trials) > p.alpha) {
    c.reason = fmt::format("{} vs {} trials cannot show any difference at {:g}: {}", c.sa.trials,
                           c.sb.trials, p.alpha, figures(c));
    return;
  }
  c.reason = fmt::format("too few trials to tell: {}; the interval does not exclude a change of {}",
                         figures(c), margin_text);
}

CellComparison start(const std::string& name, const record::CellResult* a, const record::CellResult* b,
                     const CompareParams& p) {
  CellComparison c;
  c.cell = name;
  if (a) c.a = *a, c.sa = cell_stats(*a, 1 - p.alpha);
  if (b) c.b = *b, c.sb = cell_stats(*b, 1 - p.alpha);
  if (!a || !b) {
    c.verdict = CellVerdict::Missing;
    c.reason = a ? "only in the baseline run" : "only in the current run";
    return c;
  }
  c.identity_changes = identity_changes(a->kernel, b->kernel);
  if (!c.sa.runnable || !c.sb.runnable) {
    c.verdict = CellVerdict::Infrastructure;
    const auto& broken = !c.sb.runnable ? *b : *a;
    c.reason = fmt::format("{} run has nothing to compare: {}", !c.sb.runnable ? "current" : "baseline",
                           !broken.build_error.empty() ? "build failed: " + broken.build_error : "no completed trial");
    return c;
  }
  const bool both_exposed = c.sa.rate.exposure_s > 0 && c.sb.rate.exposure_s > 0;
  c.measure = p.measure;
  if (c.measure == Measure::Exposure && !both_exposed) {
    c.verdict = CellVerdict::Infrastructure;
    c.reason = "no racing time recorded: cannot compare failures per racing-second";
    return c;
  }
  if (c.measure == Measure::Exposure) compare_exposure(c, p.alpha);
  else compare_per_trial(c, p.alpha);
  c.verdict = CellVerdict::Inconclusive;  // until classified after Holm
  return c;
}

bool compared(const CellComparison& c) {
  return c.verdict != CellVerdict::Missing && c.verdict != CellVerdict::Infrastructure;
}

}  // namespace

const char* to_string(Measure m) {
  switch (m) {
    case Measure::PerTrial: return "per-trial";
    case Measure::Exposure: return "per-racing-second";
  }
  return "?";
}

const char* to_string(CellVerdict v) {
  switch (v) {
    case CellVerdict::Regression: return "regression";
    case CellVerdict::Improvement: return "improvement";
    case CellVerdict::NoChange: return "no change";
    case CellVerdict::Inconclusive: return "inconclusive";
    case CellVerdict::Infrastructure: return "infrastructure error";
    case CellVerdict::Missing: return "missing";
  }
  return "?";
}

CellStats cell_stats(const record::CellResult& c, double confidence) {
  CellStats s;
  s.trials = c.trials;
  s.failures = c.failures;
  s.proportion = c.trials ? static_cast<double>(c.failures) / c.trials : 0;
  s.proportion_ci = stats::wilson(c.failures, c.trials, confidence);
  s.rate = stats::poisson_rate(c.failures, c.exposure_s, confidence);
  s.runnable = c.build_error.empty() && c.trials > 0;
  return s;
}

void validate(const CompareParams& p) {
  if (!(p.alpha > 0 && p.alpha < 1)) throw usage_error("compare: alpha must be in (0, 1)");
  if (!(p.min_difference > 0 && p.min_difference <= 1)) throw usage_error("compare: min difference must be in (0, 1]");
  if (!(p.min_rate_difference > 0) || std::isinf(p.min_rate_difference))
    throw usage_error("compare: min rate difference must be > 0");
  if (!(p.min_ratio > 1) || std::isinf(p.min_ratio)) throw usage_error("compare: min ratio must be > 1");
}

std::vector<std::string> identity_changes(const record::KernelIdentity& a, const record::KernelIdentity& b) {
  std::vector<std::string> out;
  if (a.source != b.source) out.push_back("source");
  if (a.patches != b.patches) out.push_back("patches");
  if (a.config_sha256 != b.config_sha256) out.push_back("config");
  if (a.bzimage_sha256 != b.bzimage_sha256) out.push_back("bzImage");
  return out;
}

int Comparison::count(CellVerdict v) const {
  int n = 0;
  for (const auto& c : cells) n += c.verdict == v;
  return n;
}

int Comparison::exit_code() const {
  if (count(CellVerdict::Regression)) return 1;
  if (count(CellVerdict::Infrastructure)) return 3;
  return 0;
}

Comparison compare_runs(const record::Night& baseline, const record::Night& current, const CompareParams& p) {
  validate(p);
  Comparison cmp;
  cmp.params = p;
  std::map<std::string, const record::CellResult*> base;
  for (const auto& c : baseline.cells) base[c.cell] = &c;
  for (const auto& c : current.cells) {
    auto it = base.find(c.cell);
    cmp.cells.push_back(start(c.cell, it == base.end() ? nullptr : it->second, &c, p));
    if (it != base.end()) base.erase(it);
  }
  for (const auto& c : baseline.cells)
    if (base.count(c.cell)) cmp.cells.push_back(start(c.cell, &c, nullptr, p));
  // Holm over the cells actually compared: the family a CI gate looks at.
  std::vector<double> ps;
  for (const auto& c : cmp.cells)
    if (compared(c)) ps.push_back(c.p_value);
  const auto adjusted = stats::holm_adjust(ps);
  size_t i = 0;
  for (auto& c : cmp.cells) {
    if (!compared(c)) continue;
    c.adjusted_p = adjusted[i++];
    classify(c, p);
  }
  return cmp;
}

}  // namespace rb::report
