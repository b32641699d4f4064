// From run records to numbers and a verdict: per-kernel failure rates with
// intervals, the comparison between the kernel expected to fail and the one
// expected to be clean, and the exit code that says which way it went.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "run/campaign.h"
#include "stats/exposure.h"
#include "stats/sequential.h"

namespace rb::report {

struct KernelSummary {
  std::string label, role, build_key, build_error;
  bool cache_hit = false;
  double build_seconds = 0;
  int boots = 0, trials = 0, failures = 0, infra_errors = 0;
  int crashes = 0, boot_failures = 0, hangs = 0;  // boots ending that way
  double rate = 0, ci_low = 0, ci_high = 1;       // Wilson, at `confidence`
  double exact_high = 1;                          // Clopper-Pearson upper bound
  std::optional<double> median_first_failure_s;   // over boots that failed
  std::optional<double> median_boot_to_first_trial_s;
  double trials_per_s = 0;                        // completed trials per VM-second
  bool overdispersed = false;                     // per-boot rates vary more than binomial
  double dispersion_p = 1;
  std::vector<std::string> crash_titles;
  stats::ExposureSummary exposure;                // failures per racing-second (Garwood)
};

enum class VerdictKind { Reproduced, NotReproduced, Infrastructure };

struct Verdict {
  VerdictKind kind = VerdictKind::Infrastructure;
  std::string line;
  std::optional<double> p_value;  // one-sided Fisher: bug kernel fails more than fixed
  std::optional<double> rate_ratio_p;  // one-sided conditional binomial test on failures per racing-second
  int exit_code() const;          // 0 reproduced, 1 not reproduced, 3 infrastructure
};

struct Summary {
  std::vector<KernelSummary> kernels;
  Verdict verdict;
  double confidence = 0.95;
  double significance = 0.01;
  const stats::ReproduceStopping* stopping = nullptr;  // set when the sequential rule ran
  size_t stop_unpatched = 0, stop_patched = 0;         // its kernels
};

KernelSummary summarize_kernel(const run::KernelRun& k, double confidence);
// `stopping`: the sequential rule's state when it ran (its kernels are the
// first "bug" and the first "fixed" kernel), else nullptr (fixed design).
Summary summarize(const run::CampaignResult& r, double confidence = 0.95, double significance = 0.01,
                  const stats::ReproduceStopping* stopping = nullptr);

std::string render_table(const Summary& s);
nlohmann::json to_json(const Summary& s, const run::CampaignResult& r);

}  // namespace rb::report
