#include "cli/step_runner.h"

#include <fmt/format.h>

#include "run/paths.h"
#include "stats/binomial.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/hash.h"

namespace rb::cli {

void add_step_flags(CLI::App* sub, StepFlags& f) {
  sub->add_option("--case", f.case_file, "case file (default: the seed race)");
  sub->add_option("--source", f.source, "git work tree to build (default: the current directory)");
  sub->add_option("--patch", f.patches, "patch(es) applied on top of every commit");
  sub->add_option("--fragment", f.fragments, "extra config fragment(s)");
  sub->add_option("--arg", f.args, "guest test argument KEY=VALUE");
  sub->add_option("--min-rate", f.rule.min_rate,
                  "smallest failure rate of a bad commit the bisection must catch (default 0.01)");
  sub->add_option("--p0", f.rule.p0, "failure rate of a good commit (H0: rate <= p0; default 0.001)");
  sub->add_option("--p1", f.rule.p1,
                  "failure rate of a bad commit (H1: rate >= p1; default: learnt from commits that reproduced in "
                  "this session, at least --min-rate)");
  sub->add_option("--alpha", f.rule.alpha, "P(call a good commit bad) (default 0.01)");
  sub->add_option("--beta", f.rule.beta, "P(call a bad commit good) (default 0.01)");
  sub->add_option("--max-trials", f.rule.max_trials,
                  "trial budget per commit; inconclusive -> skip (default: 1.5x what a clean verdict needs)");
  sub->add_option("--trials-per-boot", f.trials_per_boot, "trials per VM boot (default 8)");
  sub->add_option("--duration-ms", f.duration_ms, "length of one trial (default 2000)");
  sub->add_option("--signature", f.signature, "also count a crash whose title contains this text as a failure");
  sub->add_option("--hugepages", f.hugepages, "guest hugepages (default: the case's)");
  sub->add_option("--vcpus", f.vcpus, "guest vCPUs (default: the case's)");
  sub->add_option("--memory-mb", f.memory_mb, "guest RAM (default: the case's)");
  sub->add_option("--accel", f.accel, "auto, kvm or tcg")->check(CLI::IsMember({"auto", "kvm", "tcg"}));
  sub->add_option("--db", f.db, "history database (default: <cache>/history.db)");
  sub->add_option("--out", f.out, "directory for console logs (default: <cache>/bisect-logs)");
  sub->add_option("--connect", f.connect,
                  "URI[,slots=N]: boot on this libvirt host; repeated, the next host takes over when one fails");
}

run::Settings step_settings(const StepFlags& f, const fs::path& repo) {
  run::Overrides o;
  o.case_file = f.case_file;
  o.source = repo.string();
  o.patches = f.patches;
  o.fragments = f.fragments;
  o.args = f.args;
  o.trials = f.trials_per_boot;
  o.duration_ms = f.duration_ms;
  o.hugepages = f.hugepages;
  o.vcpus = f.vcpus;
  o.memory_mb = f.memory_mb;
  o.accel = f.accel;
  o.signature = f.signature;
  o.out = f.out;
  o.connect = f.connect;
  return run::resolve_settings(o, cache_root() / "bisect-logs");
}

std::string session_key(const run::Settings& s, const std::vector<std::string>& extra) {
  auto contents = [](const fs::path& p) { return fs::is_regular_file(p) ? read_file(p) : std::string("-"); };
  Sha256 key;
  key.field("session-v3").field(s.identity()).field(fs::canonical(s.source.path).string());
  key.field(contents(run::guest_binary_dir() / s.guest.test));
  for (const auto& e : extra) key.field(e);
  return key.hex();
}

std::string bisect_session_key(const run::Settings& s, const std::string& good, const std::string& bad, bool fix) {
  return session_key(s, {"bisect", good, bad, fix ? "fix" : "regression"});
}

StepResult run_commit_step(const StepFlags& f, const run::Settings& s, const std::string& commit, store::Store& db,
                           int64_t session, std::optional<bisect::LearnedRate> learned) {
  bisect::StepRuleParams rule;
  try {
    rule = bisect::resolve_step_rule(f.rule, learned);
  } catch (const std::invalid_argument& e) {
    throw usage_error(e.what());
  }
  run::CommitRunner runner(s, &db, session);
  StepResult r;
  auto built = runner.build(commit);
  if (!built.ok) {
    r.decision = StepDecision::Skip;
    auto nl = built.error.find('\n');
    r.why = "build failed: " + built.error.substr(0, nl);
    r.evidence = "build failed";
    return r;
  }
  bisect::StepRule step(rule);
  r.counts = runner.run(commit, built.artifact, rule.max_trials,
                        [&](bool failed) { return step.add(failed) == bisect::StepVerdict::Continue; });
  const auto& k = r.counts;
  auto ci = stats::wilson(k.failures, k.trials, 0.95);
  r.evidence = fmt::format("build {} ({:.0f} s), {} boot(s), {} trial(s), {} failure(s), rate {:.1f}% [{:.1f}%, {:.1f}%]",
                           built.artifact.cache_hit ? "cached" : "built", built.artifact.seconds, k.boots, k.trials,
                           k.failures, 100.0 * (k.trials ? double(k.failures) / k.trials : 0), 100 * ci.low,
                           100 * ci.high);
  if (k.other) r.evidence += fmt::format(", {} other outcome(s) not counted", k.other);
  for (const auto& t : k.other_titles) r.evidence += "; other crash: " + t;
  const auto& sprt = step.sprt();
  const std::string sprt_line =
      fmt::format("SPRT p0={} p1={:.4g}{} alpha={} beta={}: LLR {:.2f} in ({:.2f}, {:.2f})", rule.p0, rule.p1,
                  f.rule.p1 == 0 ? (learned && learned->failures ? " (learnt)" : " (--min-rate)") : "", rule.alpha,
                  rule.beta, sprt.llr(), sprt.lower(), sprt.upper());
  switch (step.verdict()) {
    case bisect::StepVerdict::Reproduces:
      r.decision = StepDecision::Reproduces;
      r.why = sprt_line + " -> accept H1";
      break;
    case bisect::StepVerdict::Clean:
      r.decision = StepDecision::Clean;
      r.why = sprt_line + " -> accept H0";
      break;
    default:
      r.decision = StepDecision::Skip;
      r.why = k.trials == 0 ? "no trial completed (kernel does not boot or the test cannot run)"
                            : sprt_line + " -> inconclusive within " + std::to_string(rule.max_trials) + " trials";
  }
  return r;
}

}  // namespace rb::cli
