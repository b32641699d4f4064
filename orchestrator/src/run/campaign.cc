#include "run/campaign.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <deque>
#include <mutex>
#include <thread>

#include "util/error.h"
#include "util/fs.h"

namespace rb::run {

namespace {

struct Task {
  size_t kernel;
  int boot;
};

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
    if (g_interrupted) return;
  }
}

std::deque<Task> boot_queue(const Settings& s, const CampaignResult& res) {
  std::deque<Task> q;
  for (int b = 0; b < s.boots; ++b)
    for (size_t k = 0; k < res.kernels.size(); ++k)
      if (res.kernels[k].build_error.empty()) q.push_back({k, b});
  return q;
}

// Runs the queue over `s.jobs` VM slots; every record is added under the
// lock and announced at once.
void run_boots(const Settings& s, TrialRunner& runner, CampaignResult& res, const CampaignObserver& notify) {
  std::deque<Task> queue = boot_queue(s, res);
  std::mutex mu;
  auto next = [&](Task& t) {
    std::lock_guard lock(mu);
    if (queue.empty() || g_interrupted) return false;
    t = queue.front();
    queue.pop_front();
    return true;
  };
  auto worker = [&] {
    for (Task t; next(t);) {
      const KernelRun& kr = res.kernels[t.kernel];  // the vector does not grow any more
      BootRequest req{kr.variant.label, t.boot + 1, kr.artifact.bzimage, kr.guest, s.trials_for(kr.variant),
                      t.boot + 1};
      BootRecord b = runner.boot(req);
      std::lock_guard lock(mu);
      res.kernels[t.kernel].boots.push_back(std::move(b));
      if (notify) notify({CampaignEvent::Kind::Booted, req.label}, res);
    }
  };
  std::vector<std::jthread> workers;
  for (int i = 0; i < s.jobs; ++i) workers.emplace_back(worker);
}

}  // namespace

CampaignResult run_campaign(const Settings& s, const CampaignObserver& on_change) {
  const auto t0 = std::chrono::steady_clock::now();
  CampaignResult res;
  fs::create_directories(s.out / "boots");
  TrialRunner runner(s.cache, s.out / "boots", s.accel, s.backend, s.build_jobs);
  res.initramfs_sha256 = runner.initramfs(s.guest.test).sha256;
  build_all(s, runner, res, on_change);
  for (const auto& kr : res.kernels)
    if (kr.build_error.empty()) {
      res.accel_reason = runner.accel(kr.artifact.bzimage).reason;
      break;
    }
  run_boots(s, runner, res, on_change);
  for (auto& kr : res.kernels)
    std::sort(kr.boots.begin(), kr.boots.end(), [](auto& a, auto& b) { return a.index < b.index; });
  res.interrupted = g_interrupted;
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace rb::run
