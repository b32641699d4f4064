#include "run/campaign.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "util/error.h"
#include "util/fs.h"
#include "util/stop.h"
#include "util/threads.h"

namespace rb::run {

namespace {

// Builds every kernel first, one after the other: two kernel builds on a
// small host only slow each other down. Bad input stops everything; a failed
// compile is that kernel's infrastructure error and the others still run.
void build_all(const Settings& s, TrialRunner& runner, CampaignResult& res, const CampaignObserver& notify) {
  for (const auto& v : s.kernels) {
    KernelRun kr;
    kr.variant = v;
    kr.guest = s.guest_for(v);
    std::vector<fs::path> patches = s.patches;
    patches.insert(patches.end(), v.patches.begin(), v.patches.end());
    const kernel::SourceSpec source = v.source.empty() ? s.source : kernel::SourceSpec{v.source, ""};
    kernel::KernelSpec spec{v.label, source, patches, s.fragments, "tinyconfig"};
    if (notify) notify({CampaignEvent::Kind::Building, v.label}, res);
    try {
      kr.artifact = runner.build(spec);
      const fs::path dir = s.out / "kernels" / v.label;
      fs::create_directories(dir);
      fs::copy_file(kr.artifact.config, dir / "config", fs::copy_options::overwrite_existing);
      fs::copy_file(kr.artifact.dir / "meta.json", dir / "meta.json", fs::copy_options::overwrite_existing);
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::Usage) throw;
      kr.build_error = e.what();
      spdlog::error("{}", e.what());
    }
    res.kernels.push_back(std::move(kr));
    if (notify) notify({CampaignEvent::Kind::Built, v.label}, res);
    if (stop_requested()) return;
  }
}

// Runs what the schedule asks for over the VM slots of every host (s.jobs
// local slots without --connect). The schedule is consulted and every record
// added under one lock, and announced at once. A boot whose host failed is
// recorded (Infra), hidden from the schedule, and run again on a host still
// up before anything new; its kernel counts as running meanwhile.
class BootLoop {
 public:
  BootLoop(const Settings& s, Schedule& schedule, TrialRunner& runner, CampaignResult& res,
           const CampaignObserver& notify)
      : s_(s),
        schedule_(schedule),
        runner_(runner),
        res_(res),
        notify_(notify),
        pool_(s.hosts, s.jobs),
        running_(res.kernels.size(), 0) {}

  void run() {
    std::vector<bool> runnable;
    for (const auto& k : res_.kernels) runnable.push_back(k.build_error.empty());
    schedule_.start(runnable);
    res_.hosts = pool_.hosts();
    // A worker's exception (a throwing observer) reaches the caller, where it
    // becomes exit 3 with its message, instead of std::terminate.
    WorkerGroup slots;
    for (size_t i = 0; i < pool_.slot_hosts().size(); ++i) slots.spawn([this, &slots, i] { slot(slots, i); });
    slots.join();
    res_.hosts = pool_.hosts();
    res_.stranded = pool_.stranded();
  }

 private:
  void slot(const WorkerGroup& group, size_t slot) {
    const size_t host = pool_.slot_hosts()[slot];
    std::unique_lock lock(mu_);
    while (!done_ && !stop_requested() && !group.failing() && pool_.up(host)) {
      if (!pool_.may_start(slot)) {  // under a --jobs cap: another slot's turn
        cv_.wait_for(lock, std::chrono::milliseconds(200));
        continue;
      }
      int attempt = 0;
      std::optional<BootTask> task;
      if (auto r = pool_.take_retry()) {
        task = r->task;
        attempt = r->attempt;
      } else if ((task = schedule_.next(running_))) {
        ++running_[task->kernel];
      }
      if (!task) {
        if (pool_.running() == 0) {
          done_ = true;  // slots waiting for their turn stop too
          break;
        }
        // Another VM's results may make the schedule want more (a patched
        // kernel waits for the unpatched bound): wait for a boot to end.
        cv_.wait_for(lock, std::chrono::milliseconds(200));
        continue;
      }
      pool_.started(slot);
      lock.unlock();
      BootRecord b = boot(*task, host, attempt);
      lock.lock();
      pool_.ended(slot);
      if (!pool_.finished(host, *task, attempt, b)) {
        --running_[task->kernel];
        schedule_.on_boot(task->kernel, b);
      }
      res_.kernels[task->kernel].boots.push_back(std::move(b));
      res_.hosts = pool_.hosts();
      if (notify_) notify_({CampaignEvent::Kind::Booted, res_.kernels[task->kernel].variant.label}, res_);
      cv_.notify_all();
    }
    cv_.notify_all();
  }

  BootRecord boot(const BootTask& t, size_t host, int attempt) {
    const KernelRun& kr = res_.kernels[t.kernel];  // the vector does not grow any more
    BootRequest req{.label = kr.variant.label,
                    .index = t.boot,
                    .kernel = kr.artifact.bzimage,
                    .kernel_hz = kr.artifact.hz,
                    .guest = kr.guest,
                    .trials = t.trials,
                    .seed = t.boot,
                    .host = pool_.uri(host),
                    .attempt = attempt};
    return runner_.boot(req, [&](const TrialRecord& trial) {
      std::lock_guard lock(mu_);
      return schedule_.on_trial(t.kernel, trial);
    });
  }

  const Settings& s_;
  Schedule& schedule_;
  TrialRunner& runner_;
  CampaignResult& res_;
  const CampaignObserver& notify_;
  HostPool pool_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int> running_;
  bool done_ = false;  // the schedule wants nothing more and nothing runs
};

}  // namespace

FixedSchedule fixed_schedule(const Settings& s) {
  std::vector<int> trials;
  for (const auto& k : s.kernels) trials.push_back(s.trials_for(k));
  return FixedSchedule(s.boots, trials);
}

CampaignResult run_campaign(const Settings& s, Schedule& schedule, const CampaignObserver& on_change) {
  const auto t0 = std::chrono::steady_clock::now();
  CampaignResult res;
  fs::create_directories(s.out / "boots");
  TrialRunner runner(s.cache, s.out / "boots", s.accel, s.backend, s.build_jobs);
  res.initramfs_sha256 = runner.initramfs(s.guest.test).sha256;
  build_all(s, runner, res, on_change);
  for (const auto& kr : res.kernels)
    if (kr.build_error.empty()) {
      const auto choice = runner.accel(kr.artifact.bzimage);
      res.accel = choice.accel;
      res.accel_reason = choice.reason;
      break;
    }
  BootLoop(s, schedule, runner, res, on_change).run();
  for (auto& kr : res.kernels)
    // Stable: a boot whose host failed stays before its re-run.
    std::stable_sort(kr.boots.begin(), kr.boots.end(), [](auto& a, auto& b) { return a.index < b.index; });
  res.interrupted = stop_requested();
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace rb::run
