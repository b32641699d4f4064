#include "report/trend.h"

#include <algorithm>
#include <map>

namespace rb::report {

namespace {

void test_trend(CellTrend& t) {
  std::vector<int> failures, trials, exp_failures;
  std::vector<double> exposure;
  for (const auto& p : t.points) {
    failures.push_back(p.stats.failures);
    trials.push_back(p.stats.trials);
    exp_failures.push_back(p.stats.rate.failures);
    exposure.push_back(p.stats.rate.exposure_s);
  }
  t.per_trial = stats::cochran_armitage(failures, trials);
  t.exposure = stats::poisson_trend(exp_failures, exposure);
}

}  // namespace

std::vector<CellTrend> cell_trends(std::vector<record::Night> nights, double confidence) {
  std::stable_sort(nights.begin(), nights.end(), [](const auto& a, const auto& b) {
    return a.started_at != b.started_at ? a.started_at < b.started_at : a.id < b.id;
  });
  std::vector<CellTrend> out;
  std::map<std::string, size_t> index;
  for (const auto& n : nights) {
    for (const auto& c : n.cells) {
      auto [it, fresh] = index.try_emplace(c.cell, out.size());
      if (fresh) out.push_back(CellTrend{c.cell, {}, {}, {}});
      NightPoint p{n.id, n.started_at, cell_stats(c, confidence), c.kernel.bzimage_sha256};
      if (p.stats.runnable) out[it->second].points.push_back(std::move(p));
    }
  }
  for (auto& t : out) test_trend(t);
  return out;
}

}  // namespace rb::report
