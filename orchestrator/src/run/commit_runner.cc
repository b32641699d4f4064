#include "run/commit_runner.h"

#include <spdlog/spdlog.h>

#include <random>

#include "util/error.h"
#include "util/stop.h"

namespace rb::run {

using record::Outcome;

CommitRunner::CommitRunner(Settings s, store::Store* db, int64_t session)
    : s_(std::move(s)), db_(db), session_(session), runner_(s_.cache, s_.out / "boots", s_.accel, s_.backend) {}

BuildOutcome CommitRunner::build(const std::string& commit) {
  kernel::KernelSpec spec{commit.substr(0, 12), {s_.source.path, commit}, s_.patches, s_.fragments, "tinyconfig"};
  BuildOutcome out;
  try {
    out.artifact = runner_.build(spec);
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

std::string CommitRunner::host_after(const BootRecord* failed) {
  if (s_.hosts.empty()) return {};
  if (failed) {
    spdlog::warn("host {} is down for this run: {}", s_.hosts[host_].uri, failed->detail);
    if (++host_ >= s_.hosts.size()) throw infra_error("every --connect host is down; the last: " + failed->detail);
  }
  return s_.hosts[host_].uri;
}

void CommitRunner::count(const BootRecord& b, CommitCounts& c) const {
  ++c.boots;
  if (b.host_failed) return;  // the host's failure says nothing about the commit
  if (b.outcome == Outcome::Crash) {
    ++c.other;
    c.other_titles.push_back(b.detail);
  } else if (b.outcome != Outcome::Pass && b.outcome != Outcome::Fail) {
    ++c.other;
  }
  c.boots_without_trials = b.passes() + b.fails() == 0 ? c.boots_without_trials + 1 : 0;
}

CommitCounts CommitRunner::run(const std::string& commit, const kernel::BuildArtifact& k, int max_trials,
                               const std::function<bool(bool failed)>& on_trial) {
  CommitCounts c;
  const auto t0 = std::chrono::steady_clock::now();
  bool stop = false;
  while (!stop && c.trials < max_trials && !stop_requested()) {
    // A fresh seed per boot (the guest test prints it, so it stays
    // reproducible): steps that revisit a commit must not replay its trials.
    // It also names the console log, which must survive resumed runs.
    const int seed = static_cast<int>(std::random_device{}() % 1000000000);
    BootRequest req{.label = commit.substr(0, 12),
                    .index = seed,
                    .kernel = k.bzimage,
                    .kernel_hz = k.hz,
                    .guest = s_.guest,
                    .trials = std::min(s_.trials, max_trials - c.trials),
                    .seed = seed,
                    .host = host_after(nullptr)};
    BootRecord b = runner_.boot(req, [&](const TrialRecord& t) {
      ++c.trials;
      c.failures += t.outcome == Outcome::Fail;
      if (!on_trial(t.outcome == Outcome::Fail)) stop = true;
      return !stop;
    });
    count(b, c);
    if (db_) db_->record_boot(session_, commit, b);
    if (b.host_failed) host_after(&b);
    spdlog::info("[{}] boot {}: {} ({} trials so far, {} failed)", req.label, req.index,
                 record::to_string(b.outcome), c.trials, c.failures);
    if (c.boots_without_trials >= 2) break;  // does not boot or cannot run the test
  }
  c.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return c;
}

}  // namespace rb::run
