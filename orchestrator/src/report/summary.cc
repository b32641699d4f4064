#include "report/summary.h"

#include <fmt/format.h>

#include <algorithm>

#include "report/documents.h"
#include "report/stopping.h"
#include "stats/binomial.h"
#include "stats/poisson.h"

namespace rb::report {

int Verdict::exit_code() const {
  switch (kind) {
    case VerdictKind::Reproduced: return 0;
    case VerdictKind::NotReproduced: return 1;
    case VerdictKind::Infrastructure: return 3;
  }
  return 3;
}

KernelSummary summarize_kernel(const run::KernelRun& k, double confidence) {
  KernelSummary s;
  s.label = k.variant.label;
  s.role = k.variant.role;
  s.build_key = k.artifact.key;
  s.build_error = k.build_error;
  s.cache_hit = k.artifact.cache_hit;
  s.build_seconds = k.artifact.seconds;
  std::vector<double> first_fail, first_trial;
  std::vector<std::pair<int, int>> per_boot;
  double vm_seconds = 0;
  for (const auto& b : k.boots) {
    ++s.boots;
    int pf = b.passes() + b.fails();
    s.trials += pf;
    s.failures += b.fails();
    s.infra_errors += b.infra();
    per_boot.push_back({b.fails(), pf});
    vm_seconds += b.seconds;
    switch (b.outcome) {
      case run::Outcome::Crash:
        ++s.crashes;
        if (std::find(s.crash_titles.begin(), s.crash_titles.end(), b.detail) == s.crash_titles.end())
          s.crash_titles.push_back(b.detail);
        break;
      case run::Outcome::BootFailure: ++s.boot_failures; break;
      case run::Outcome::Hang:
      case run::Outcome::Timeout: ++s.hangs; break;
      case run::Outcome::Infra:
        if (b.trials.empty()) ++s.infra_errors;  // a boot that produced no trial at all
        break;
      default: break;
    }
    if (b.first_failure_s) first_fail.push_back(*b.first_failure_s);
    if (b.boot_to_first_trial_s) first_trial.push_back(*b.boot_to_first_trial_s);
  }
  s.rate = s.trials ? static_cast<double>(s.failures) / s.trials : 0;
  auto w = stats::wilson(s.failures, s.trials, confidence);
  s.ci_low = w.low;
  s.ci_high = w.high;
  s.exact_high = stats::clopper_pearson(s.failures, s.trials, confidence).high;
  if (!first_fail.empty()) s.median_first_failure_s = stats::median(first_fail);
  if (!first_trial.empty()) s.median_boot_to_first_trial_s = stats::median(first_trial);
  s.trials_per_s = vm_seconds > 0 ? s.trials / vm_seconds : 0;
  auto d = stats::binomial_dispersion(per_boot);
  s.overdispersed = d.overdispersed;
  s.dispersion_p = d.p_value;
  s.exposure = stats::summarize_exposure(k.boots, confidence);
  return s;
}

namespace {

std::string pct(double x) { return fmt::format("{:.1f}%", 100 * x); }

// Exposure comparison, one-sided: does the bug kernel race faster?
std::optional<double> rate_ratio_p(const KernelSummary& bug, const KernelSummary& fixed) {
  if (bug.exposure.seconds <= 0 || fixed.exposure.seconds <= 0) return std::nullopt;
  return stats::rate_ratio(bug.exposure.failures, bug.exposure.seconds, fixed.exposure.failures,
                           fixed.exposure.seconds, 0.95, stats::Alternative::Greater)
      .p_value;
}

// The sequential rule said what was shown; the verdict repeats it.
Verdict decide_sequential(const Summary& s, const KernelSummary& bug, const KernelSummary& fixed) {
  const auto& st = *s.stopping;
  Verdict v;
  v.p_value = stats::fisher_exact_greater(bug.failures, bug.trials, fixed.failures, fixed.trials);
  v.rate_ratio_p = rate_ratio_p(bug, fixed);
  const bool race = st.unpatched().finding == stats::Finding::RacePresent;
  const bool fixed_shown = st.patched().finding == stats::Finding::Fixed;
  if (bug.trials == 0 || (race && fixed.trials == 0 && st.patched().state != stats::StopState::Continue)) {
    v.kind = VerdictKind::Infrastructure;
    v.line = "no verdict: a kernel produced no trial (" + bug.label + " " + std::to_string(bug.trials) + ", " +
             fixed.label + " " + std::to_string(fixed.trials) + " trials); " + stopping_line(st);
    return v;
  }
  v.kind = race && fixed_shown ? VerdictKind::Reproduced : VerdictKind::NotReproduced;
  v.line = std::string(v.kind == VerdictKind::Reproduced ? "reproduced: " : "NOT reproduced: ") + stopping_line(st);
  return v;
}

Verdict decide(const Summary& s) {
  Verdict v;
  const KernelSummary* bug = nullptr;
  const KernelSummary* fixed = nullptr;
  for (const auto& k : s.kernels) {
    if (k.role == "bug" && !bug) bug = &k;
    if (k.role == "fixed" && !fixed) fixed = &k;
  }
  if (!bug) {
    v.line = "no kernel with role \"bug\": nothing to reproduce";
    return v;
  }
  if (s.stopping && fixed) return decide_sequential(s, *bug, *fixed);
  if (bug->trials == 0) {
    v.line = fmt::format("{}: no completed trial ({} infra errors, {} boot failures, {} hangs, {} crashes){}",
                         bug->label, bug->infra_errors, bug->boot_failures, bug->hangs, bug->crashes,
                         bug->build_error.empty() ? "" : "; build failed");
    return v;
  }
  std::string line = fmt::format("{}: {}/{} failed, p = {} [{}, {}]", bug->label, bug->failures, bug->trials,
                                 pct(bug->rate), pct(bug->ci_low), pct(bug->ci_high));
  if (!fixed || fixed->trials == 0) {
    v.kind = bug->failures ? VerdictKind::Reproduced : VerdictKind::NotReproduced;
    v.line = (bug->failures ? "reproduced on " : "NOT reproduced on ") + line +
             (fixed ? fmt::format("; {}: no completed trial", fixed->label) : std::string());
    if (fixed && bug->failures) {
      v.kind = VerdictKind::Infrastructure;  // cannot show the fix without its runs
    }
    return v;
  }
  v.p_value = stats::fisher_exact_greater(bug->failures, bug->trials, fixed->failures, fixed->trials);
  v.rate_ratio_p = rate_ratio_p(*bug, *fixed);
  std::string fixed_part =
      fixed->failures == 0
          ? fmt::format("{}: 0/{}, rate < {} at {:.0f}%", fixed->label, fixed->trials, pct(fixed->exact_high),
                        100 * s.confidence)
          : fmt::format("{}: {}/{} failed, p = {} [{}, {}]", fixed->label, fixed->failures, fixed->trials,
                        pct(fixed->rate), pct(fixed->ci_low), pct(fixed->ci_high));
  const bool significant = *v.p_value < s.significance;
  std::string sig = fmt::format("difference {}significant at {:.0f}% (one-sided Fisher exact p = {:.3g})",
                                significant ? "" : "NOT ", 100 * (1 - s.significance), *v.p_value);
  if (bug->failures > 0 && fixed->failures == 0 && significant) {
    v.kind = VerdictKind::Reproduced;
    v.line = "reproduced on " + line + "; " + fixed_part + "; " + sig;
  } else {
    v.kind = VerdictKind::NotReproduced;
    std::string why = bug->failures == 0       ? "the bug kernel never failed"
                      : fixed->failures > 0    ? "the fixed kernel failed too"
                                               : "not enough trials for significance";
    v.line = "NOT reproduced (" + why + "): " + line + "; " + fixed_part + "; " + sig;
  }
  return v;
}

}  // namespace

Summary summarize(const run::CampaignResult& r, double confidence, double significance,
                  const stats::ReproduceStopping* stopping) {
  Summary s;
  s.confidence = confidence;
  s.significance = significance;
  s.stopping = stopping;
  for (const auto& k : r.kernels) s.kernels.push_back(summarize_kernel(k, confidence));
  s.verdict = decide(s);
  return s;
}

namespace {

std::string per_second(const stats::ExposureSummary& e) {
  if (e.seconds <= 0) return "-";
  return fmt::format("{:.3g}", e.rate.rate);
}

std::string per_second_ci(const stats::ExposureSummary& e) {
  if (e.seconds <= 0) return "-";
  return fmt::format("[{:.3g}, {:.3g}]", e.rate.ci.low, e.rate.ci.high);
}

}  // namespace

std::string render_table(const Summary& s) {
  auto opt = [](const std::optional<double>& x) { return x ? fmt::format("{:.2f}", *x) : std::string("-"); };
  const std::string ci = fmt::format("{:.0f}% CI", 100 * s.confidence);
  std::string out = fmt::format("{:<24} {:>6} {:>5} {:>6} {:>5} {:>5} {:>7} {:>17} {:>7} {:>19} {:>7} {:>7} {:>7}\n",
                                "kernel", "role", "boots", "trials", "fail", "infra", "rate", ci, "fail/s",
                                ci + " (/s)", "ttff_s", "boot_s", "build");
  for (const auto& k : s.kernels) {
    std::string build = !k.build_error.empty() ? "FAILED" : k.cache_hit ? "cached" : fmt::format("{:.0f}s", k.build_seconds);
    out += fmt::format("{:<24} {:>6} {:>5} {:>6} {:>5} {:>5} {:>7} {:>17} {:>7} {:>19} {:>7} {:>7} {:>7}\n", k.label,
                       k.role, k.boots, k.trials, k.failures, k.infra_errors, pct(k.rate),
                       fmt::format("[{}, {}]", pct(k.ci_low), pct(k.ci_high)), per_second(k.exposure),
                       per_second_ci(k.exposure), opt(k.median_first_failure_s), opt(k.median_boot_to_first_trial_s),
                       build);
    if (k.crashes || k.boot_failures || k.hangs)
      out += fmt::format("  {:<22} {} crash(es), {} boot failure(s), {} hang/timeout(s)\n", "", k.crashes,
                         k.boot_failures, k.hangs);
    for (const auto& t : k.crash_titles) out += fmt::format("  {:<22} crash: {}\n", "", t);
    if (k.overdispersed)
      out += fmt::format("  {:<22} note: per-boot rates vary more than binomial (p = {:.3g}); the pooled interval is optimistic\n",
                         "", k.dispersion_p);
  }
  out += "rate: failed trials / trials (Wilson); fail/s: failures per racing-second, each trial counted up to its\n"
         "first failure (Garwood); ttff_s: median guest seconds from the first trial to the first failure, over\n"
         "failing boots; boot_s: median host seconds from QEMU start to the start of the guest test.\n";
  if (s.verdict.rate_ratio_p)
    out += fmt::format("rate ratio (fail/s, bug vs fixed): one-sided conditional binomial p = {:.3g}\n",
                       *s.verdict.rate_ratio_p);
  out += "verdict: " + s.verdict.line + "\n";
  return out;
}

nlohmann::json to_json(const Summary& s, const run::CampaignResult& r) {
  using nlohmann::json;
  json j;
  j["verdict"] = {{"kind", s.verdict.kind == VerdictKind::Reproduced      ? "reproduced"
                           : s.verdict.kind == VerdictKind::NotReproduced ? "not_reproduced"
                                                                          : "infrastructure_error"},
                  {"line", s.verdict.line},
                  {"exit_code", s.verdict.exit_code()},
                  {"p_value", s.verdict.p_value ? json(*s.verdict.p_value) : json(nullptr)},
                  {"rate_ratio_p_value", s.verdict.rate_ratio_p ? json(*s.verdict.rate_ratio_p) : json(nullptr)},
                  {"design", s.stopping ? "sequential" : "fixed"}};
  j["schema"] = kResultsSchema;
  j["confidence"] = s.confidence;
  j["significance"] = s.significance;
  j["accelerator"] = r.accel_reason;
  j["initramfs_sha256"] = r.initramfs_sha256;
  j["interrupted"] = r.interrupted;
  j["seconds"] = r.seconds;
  auto opt = [](const std::optional<double>& x) { return x ? json(*x) : json(nullptr); };
  for (size_t i = 0; i < s.kernels.size(); ++i) {
    const auto& k = s.kernels[i];
    const auto& kr = r.kernels[i];
    json jk = {{"label", k.label},
               {"role", k.role},
               {"trials", k.trials},
               {"failures", k.failures},
               {"infra_errors", k.infra_errors},
               {"crashes", k.crashes},
               {"boot_failures", k.boot_failures},
               {"hangs", k.hangs},
               {"rate", k.rate},
               {"ci_low", k.ci_low},
               {"ci_high", k.ci_high},
               {"exact_high", k.exact_high},
               {"median_time_to_first_failure_s", opt(k.median_first_failure_s)},
               {"median_boot_to_first_trial_s", opt(k.median_boot_to_first_trial_s)},
               {"trials_per_s", k.trials_per_s},
               {"overdispersed", k.overdispersed},
               {"build", {{"key", k.build_key},
                          {"cache_hit", k.cache_hit},
                          {"seconds", k.build_seconds},
                          {"bzimage_sha256", kr.artifact.bzimage_sha256},
                          {"source", kr.artifact.source_identity},
                          {"error", k.build_error}}},
               {"args", kr.guest.args},
               {"exposure", exposure_json(k.exposure, s.confidence)}};
    if (s.stopping && (i == s.stop_unpatched || i == s.stop_patched))
      jk["stopping"] = stopping_json(i == s.stop_unpatched ? s.stopping->unpatched() : s.stopping->patched(),
                                     s.stopping->params());
    for (const auto& b : kr.boots) {
      json jb = {{"index", b.index},
                 {"outcome", run::to_string(b.outcome)},
                 {"detail", b.detail},
                 {"vm_end", vm::to_string(b.end)},
                 {"seconds", b.seconds},
                 {"boot_to_first_trial_s", opt(b.boot_to_first_trial_s)},
                 {"first_failure_s", opt(b.first_failure_s)},
                 {"planned", b.planned},
                 {"passes", b.passes()},
                 {"failures", b.fails()},
                 {"infra_errors", b.infra()},
                 {"console_log", b.console_log.string()},
                 {"host", b.host},
                 {"host_failed", b.host_failed}};
      for (const auto& t : b.trials)
        jb["trials"].push_back({{"n", t.number},
                                {"outcome", run::to_string(t.outcome)},
                                {"events", t.events},
                                {"bogus", t.bogus},
                                {"toggles", t.toggles},
                                {"reads", t.reads},
                                {"ms", t.ms},
                                {"first_bogus_ms", t.first_bogus_ms},
                                {"reason", t.reason}});
      jk["boots"].push_back(jb);
    }
    j["kernels"].push_back(jk);
  }
  return j;
}

}  // namespace rb::report
