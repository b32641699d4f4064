#include "run/commit_runner.h"

#include <spdlog/spdlog.h>

#include <random>

#include "console/console_report.h"
#include "image/initramfs.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/process.h"
#include "vm/accel.h"

namespace rb::run {

CommitRunner::CommitRunner(RunnerConfig cfg, store::Store* db, int64_t session)
    : cfg_(std::move(cfg)), db_(db), session_(session) {
  const fs::path test = fs::path(RB_GUEST_TEST_PATH).parent_path() / cfg_.kase.guest_test;
  initramfs_ = image::build_initramfs({fs::path(RB_GUEST_INIT_PATH), {test}}, cfg_.cache).path.string();
}

BuildOutcome CommitRunner::build(const std::string& commit) {
  kernel::Builder builder(cfg_.cache);
  kernel::KernelSpec spec{commit.substr(0, 12), {cfg_.repo, commit}, cfg_.patches, cfg_.fragments, "tinyconfig"};
  BuildOutcome out;
  try {
    out.artifact = builder.build(spec);
    out.ok = true;
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::Usage) throw;
    out.error = e.what();
  }
  if (db_)
    db_->record_build(session_, commit, spec.label, out.artifact.key, out.ok, out.artifact.seconds,
                      out.artifact.cache_hit, out.artifact.bzimage_sha256, out.error);
  return out;
}

CommitCounts CommitRunner::run(const std::string& commit, const kernel::BuildArtifact& k, int max_trials,
                               const std::function<bool(bool failed)>& on_trial) {
  CommitCounts c;
  const auto t0 = std::chrono::steady_clock::now();
  if (!accel_) {
    auto choice = vm::resolve_accel(cfg_.accel, k.bzimage, initramfs_, cfg_.out);
    accel_ = choice.accel;
  }
  auto backend = vm::make_qemu_backend();
  bool stop = false;
  while (!stop && c.trials < max_trials && !g_interrupted) {
    const int trials = std::min(cfg_.trials_per_boot, max_trials - c.trials);
    const GuestSetup guest{cfg_.kase.guest_test, cfg_.args, cfg_.hugepages, cfg_.vcpus, cfg_.memory_mb,
                           cfg_.duration_ms};
    ++boot_counter_;
    // A fresh seed per boot (printed by the guest test, so still
    // reproducible): steps that revisit a commit must not replay its trials.
    const int seed = static_cast<int>(std::random_device{}() % 1000000000);
    vm::BootSpec spec = trial_boot_spec(guest, k.bzimage, initramfs_, *accel_, trials, seed,
                                        cfg_.out / "boots" / (commit.substr(0, 12) + "-" + std::to_string(seed) + ".log"));
    console::ConsoleParser live(contract_for(spec.cmdline));
    size_t seen = 0;
    auto r = backend->boot(spec, [&](std::string_view chunk) {
      live.feed(chunk);
      const auto& ts = live.report().trials;
      for (; seen < ts.size() && !stop; ++seen) {
        const auto st = ts[seen].status;
        if (st != console::TrialStatus::Pass && st != console::TrialStatus::Fail) continue;
        const bool failed = st == console::TrialStatus::Fail;
        ++c.trials;
        c.failures += failed;
        if (!on_trial(failed)) stop = true;
      }
      return !stop && !g_interrupted.load();
    });
    BootRecord b = classify_boot_file(spec, r.end);
    b.kernel_label = commit.substr(0, 12);
    b.index = boot_counter_;
    b.seconds = r.seconds;
    b.console_log = spec.console_log;
    // A stopped VM may have printed a result line after the decision: only
    // the trials the decision saw are evidence, so trim the record to them.
    if (r.end == vm::BootEnd::Stopped && b.trials.size() > seen) b.trials.resize(seen);
    ++c.boots;
    if (b.outcome == Outcome::Crash) {
      const bool target = !cfg_.signature.empty() && b.detail.find(cfg_.signature) != std::string::npos;
      if (target) {
        ++c.trials;
        ++c.failures;
        TrialRecord crash_trial;
        crash_trial.number = static_cast<int>(b.trials.size()) + 1;
        crash_trial.outcome = Outcome::Fail;
        crash_trial.reason = "crash: " + b.detail;
        b.trials.push_back(crash_trial);
        if (!on_trial(true)) stop = true;
      } else {
        ++c.other;
        c.other_titles.push_back(b.detail);
      }
    } else if (b.outcome != Outcome::Pass && b.outcome != Outcome::Fail) {
      ++c.other;
    }
    if (db_) db_->record_boot(session_, commit, b);
    c.boots_without_trials = (b.passes() + b.fails() == 0) ? c.boots_without_trials + 1 : 0;
    spdlog::info("[{}] boot {}: {} ({} trials so far, {} failed)", commit.substr(0, 12), boot_counter_,
                 to_string(b.outcome), c.trials, c.failures);
    if (c.boots_without_trials >= 2) break;  // does not boot or cannot run the test
  }
  c.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return c;
}

}  // namespace rb::run
