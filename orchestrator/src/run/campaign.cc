#include "run/campaign.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <deque>
#include <fstream>
#include <mutex>
#include <thread>

#include "console/console_report.h"
#include "image/initramfs.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/process.h"
#include "vm/accel.h"

namespace rb::run {

std::atomic<bool> g_interrupted{false};

vm::BootSpec trial_boot_spec(const GuestSetup& g, const fs::path& kernel, const fs::path& initrd, vm::Accel accel,
                             int trials, int seed, const fs::path& console_log) {
  Args args = g.args;
  args["trials"] = std::to_string(trials);
  args["duration_ms"] = std::to_string(g.duration_ms);
  if (!args.count("seed")) args["seed"] = std::to_string(seed);
  vm::BootSpec spec;
  spec.kernel = kernel;
  spec.initrd = initrd;
  spec.cmdline = guest_cmdline(g.hugepages, g.test, args);
  spec.vcpus = g.vcpus;
  spec.memory_mb = g.memory_mb;
  spec.accel = accel;
  spec.console_log = console_log;
  spec.timeout = std::chrono::seconds(90 + trials * g.duration_ms * 2 / 1000);
  spec.no_output_timeout = std::chrono::seconds(std::max(60, 3 * g.duration_ms / 1000));
  return spec;
}

void validate(const CampaignOptions& o) {
  if (o.vcpus < 1 || o.vcpus > 64) throw usage_error("--vcpus must be between 1 and 64");
  if (o.boots < 1) throw usage_error("--boots must be at least 1");
  if (o.trials < 1) throw usage_error("--trials must be at least 1");
  if (o.duration_ms < 1) throw usage_error("--duration-ms must be at least 1");
  if (o.jobs < 1) throw usage_error("--jobs must be at least 1");
  // The kernel needs room of its own besides the hugepage pool; 96 MiB is
  // what a tiny kernel + initramfs + test comfortably boot in.
  const long pool = 2L * o.hugepages;
  if (o.hugepages < 0 || pool + 96 > o.memory_mb)
    throw usage_error("hugepages=" + std::to_string(o.hugepages) + " (" + std::to_string(pool) +
                      " MiB) do not fit in " + std::to_string(o.memory_mb) +
                      " MiB of guest RAM (leave >= 96 MiB for the kernel): lower --hugepages or raise --memory-mb");
  if (o.pages_needed > o.hugepages)
    throw usage_error("the guest test needs " + std::to_string(o.pages_needed) + " hugepages but only " +
                      std::to_string(o.hugepages) + " are reserved (--hugepages)");
  if (!fs::exists(o.guest_test_binary)) throw usage_error("guest test binary not found: " + o.guest_test_binary.string());
  if (o.kernels.empty()) throw usage_error("no kernels to run");
  for (const auto& f : o.fragments)
    if (!fs::exists(f)) throw usage_error("config fragment not found: " + f.string());
  for (const auto& k : o.kernels)
    for (const auto& p : k.patches)
      if (!fs::exists(p)) throw usage_error("patch not found: " + p.string() + " (kernel " + k.label + ")");
}

namespace {

struct Task {
  size_t kernel;
  int boot;
};

}  // namespace

CampaignResult run_campaign(const CampaignOptions& o) {
  validate(o);
  const auto t0 = std::chrono::steady_clock::now();
  CampaignResult res;
  fs::create_directories(o.out / "boots");

  // 1. Build every kernel first (sequentially: two kernel builds on a small
  // host only slow each other down). Usage errors stop everything.
  kernel::Builder builder(o.cache, o.build_jobs);
  for (const auto& v : o.kernels) {
    KernelRun kr;
    kr.variant = v;
    kr.args = o.args;
    for (auto& [k, val] : v.args) kr.args[k] = val;
    kernel::KernelSpec spec{v.label, o.source, v.patches, o.fragments, "tinyconfig"};
    try {
      kr.artifact = builder.build(spec);
      fs::create_directories(o.out / "kernels" / v.label);
      fs::copy_file(kr.artifact.config, o.out / "kernels" / v.label / "config", fs::copy_options::overwrite_existing);
      fs::copy_file(kr.artifact.dir / "meta.json", o.out / "kernels" / v.label / "meta.json",
                    fs::copy_options::overwrite_existing);
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::Usage || o.stop_on_build_error) throw;
      kr.build_error = e.what();
      spdlog::error("{}", e.what());
    }
    res.kernels.push_back(std::move(kr));
    if (g_interrupted) break;
  }

  // 2. The initramfs: /init + the guest test, content-addressed.
  auto img = image::build_initramfs({fs::path(RB_GUEST_INIT_PATH), {o.guest_test_binary}}, o.cache);
  res.initramfs_sha256 = img.sha256;

  // 3. Accelerator: probe with the first kernel that built.
  vm::Accel accel = vm::Accel::Tcg;
  for (auto& kr : res.kernels) {
    if (!kr.build_error.empty()) continue;
    auto choice = vm::resolve_accel(o.accel, kr.artifact.bzimage, img.path, o.out);
    accel = choice.accel;
    res.accel_reason = choice.reason;
    break;
  }

  // 4. Boots, in `jobs` parallel VM slots.
  std::deque<Task> queue;
  for (int b = 0; b < o.boots; ++b)
    for (size_t k = 0; k < res.kernels.size(); ++k)
      if (res.kernels[k].build_error.empty()) queue.push_back({k, b});
  std::mutex mu;
  auto worker = [&] {
    auto backend = o.backend == "libvirt" ? vm::make_libvirt_backend() : vm::make_qemu_backend();
    for (;;) {
      Task task;
      {
        std::lock_guard lock(mu);
        if (queue.empty() || g_interrupted) return;
        task = queue.front();
        queue.pop_front();
      }
      KernelRun& kr = res.kernels[task.kernel];
      const int trials = kr.variant.role == "fixed"
                             ? static_cast<int>(o.trials * o.fixed_trials_factor + 0.5)
                             : o.trials;
      const GuestSetup guest{o.guest_test, kr.args, o.hugepages, o.vcpus, o.memory_mb, o.duration_ms};
      vm::BootSpec spec = trial_boot_spec(
          guest, kr.artifact.bzimage, img.path, accel, trials, task.boot + 1,
          o.out / "boots" / (kr.variant.label + "-" + std::to_string(task.boot + 1) + ".log"));
      spec.name = "rb-" + kr.variant.label;
      const auto start = std::chrono::steady_clock::now();
      std::optional<double> first_result;
      console::ConsoleParser live(contract_for(spec.cmdline));
      auto r = backend->boot(spec, [&](std::string_view chunk) {
        live.feed(chunk);
        if (!first_result && live.report().ktap_seen)
          first_result = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        return !g_interrupted.load();
      });
      BootRecord b = classify_boot_file(spec, r.end);
      if (r.end == vm::BootEnd::LaunchError) b.detail = "VM did not start: " + r.error;
      b.kernel_label = kr.variant.label;
      b.index = task.boot + 1;
      b.seconds = r.seconds;
      b.boot_to_first_trial_s = first_result;
      b.console_log = spec.console_log;
      b.command = r.command;
      write_file_atomic(spec.console_log.string() + ".cmd", join_argv(r.command) + "\n");
      spdlog::info("[{}] boot {}: {} — {} pass, {} fail, {} infra in {:.1f} s{}", b.kernel_label, b.index,
                   to_string(b.outcome), b.passes(), b.fails(), b.infra(), b.seconds,
                   b.detail.empty() ? "" : " (" + b.detail + ")");
      std::lock_guard lock(mu);
      kr.boots.push_back(std::move(b));
    }
  };
  std::vector<std::thread> workers;
  for (int i = 0; i < std::max(1, o.jobs); ++i) workers.emplace_back(worker);
  for (auto& w : workers) w.join();
  for (auto& kr : res.kernels)
    std::sort(kr.boots.begin(), kr.boots.end(), [](auto& a, auto& b) { return a.index < b.index; });
  res.interrupted = g_interrupted;
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace rb::run
