#include "report/nightly_text.h"

#include <fmt/format.h>

#include "report/text.h"

namespace rb::report {

namespace {

// "3/8 37.5% [13.7%, 69.4%] 0.512/s [0.166, 1.19]" -- both measures.
std::string figures(const CellStats& s) {
  if (!s.runnable) return "-";
  std::string out = fmt::format("{}/{} {} [{}, {}]", s.failures, s.trials, percent(s.proportion),
                                percent(s.proportion_ci.low), percent(s.proportion_ci.high));
  if (s.rate.exposure_s > 0)
    out += fmt::format(" {} [{}, {}]", rate_per_s(s.rate.rate), rate_per_s(s.rate.ci.low), rate_per_s(s.rate.ci.high));
  return out;
}

std::string change(const CellComparison& c) {
  if (c.verdict == CellVerdict::Infrastructure || c.verdict == CellVerdict::Missing) return "-";
  if (c.measure == Measure::Exposure)
    return fmt::format("x{:.3g} [{:.3g}, {:.3g}]", c.ratio, c.ratio_ci.low, c.ratio_ci.high);
  return fmt::format("{:+.1f} pt [{:+.1f}, {:+.1f}]", 100 * c.difference, 100 * c.difference_ci.low,
                     100 * c.difference_ci.high);
}

}  // namespace

std::string comparison_text(const Comparison& c) {
  std::string out = fmt::format("baseline: {}\ncurrent:  {}\n", sanitize(c.baseline_label), sanitize(c.current_label));
  out += fmt::format("{:<28} {:<44} {:<44} {:<26} {:>9}  {}\n", "cell", "baseline", "current", "change", "p (Holm)",
                     "verdict");
  for (const auto& cell : c.cells) {
    out += fmt::format("{:<28} {:<44} {:<44} {:<26} {:>9}  {}\n", sanitize(cell.cell), figures(cell.sa),
                       figures(cell.sb), change(cell), p_value(cell.adjusted_p), to_string(cell.verdict));
    out += "    " + sanitize(cell.reason) + "\n";
    if (!cell.identity_changes.empty()) {
      std::string what;
      for (const auto& w : cell.identity_changes) what += (what.empty() ? "" : ", ") + w;
      out += "    kernel changed: " + what + "\n";
    }
  }
  out += fmt::format("{} regression(s), {} improvement(s), {} no change, {} inconclusive, {} infrastructure, "
                     "{} missing (family-wise alpha {}, Holm)\n",
                     c.count(CellVerdict::Regression), c.count(CellVerdict::Improvement),
                     c.count(CellVerdict::NoChange), c.count(CellVerdict::Inconclusive),
                     c.count(CellVerdict::Infrastructure), c.count(CellVerdict::Missing), c.params.alpha);
  return out;
}

std::string night_text(const record::Night& n) {
  std::string out = fmt::format("night {} ({}), matrix {}, {} cell(s):\n", n.id, sanitize(n.started_at),
                                sanitize(n.matrix), n.cells.size());
  for (const auto& c : n.cells) {
    const CellStats s = cell_stats(c);
    out += fmt::format("  {:<28} {}{}\n", sanitize(c.cell), figures(s),
                       c.build_error.empty() ? "" : "  build failed: " + sanitize(c.build_error.substr(0, 200)));
  }
  return out;
}

std::string history_text(const std::vector<store::NightInfo>& nights, const std::vector<CellTrend>& trends) {
  std::string out = fmt::format("{:>6}  {:<21} {:<24} {:>6} {:>8}  {}\n", "night", "started", "matrix", "cells",
                                "failing", "pinned");
  for (const auto& n : nights)
    out += fmt::format("{:>6}  {:<21} {:<24} {:>6} {:>8}  {}\n", n.id, sanitize(n.started_at), sanitize(n.matrix),
                       n.cells, n.failing_cells, n.pinned ? "yes" : "");
  for (const auto& t : trends) {
    out += fmt::format("\n{}: trend per trial z = {:+.2f} (p = {}), per racing-second z = {:+.2f} (p = {})\n",
                       sanitize(t.cell), t.per_trial.z, p_value(t.per_trial.p_value), t.exposure.z,
                       p_value(t.exposure.p_value));
    for (const auto& p : t.points)
      out += fmt::format("  night {:>4}  {:<21} {}\n", p.night_id, sanitize(p.started_at), figures(p.stats));
  }
  return out;
}

}  // namespace rb::report
