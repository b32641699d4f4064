#include "run/trial_runner.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "console/console_report.h"
#include "run/classify.h"
#include "run/contract.h"
#include "run/paths.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/process.h"
#include "util/stop.h"

namespace rb::run {

namespace {

using record::Outcome;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::unique_ptr<vm::Backend> make_backend(const std::string& name, const std::string& host) {
  if (!host.empty()) return vm::make_libvirt_backend(host);
  return name == "libvirt" ? vm::make_libvirt_backend() : vm::make_qemu_backend();
}

// The host a boot ran on, as the record names it.
std::string host_of(const std::string& backend, const std::string& host) {
  return !host.empty() ? host : backend == "libvirt" ? "qemu:///system" : "";
}

// Feeds live console chunks to the parser and each new pass/fail trial to
// the caller's decision; remembers how many trials the decision saw.
class LiveTrials {
 public:
  LiveTrials(const TrialFn& on_trial, console::Contract contract)
      : on_trial_(on_trial), parser_(std::move(contract)) {}

  // Returns false once the caller wants the VM stopped.
  bool feed(std::string_view chunk) {
    parser_.feed(chunk);
    if (!ktap_at_ && parser_.report().ktap_seen) ktap_at_ = seconds_since(t0_);
    const auto& ts = parser_.report().trials;
    for (; seen_ < ts.size() && !stop_; ++seen_) {
      const auto st = ts[seen_].status;
      if (st != console::TrialStatus::Pass && st != console::TrialStatus::Fail) continue;
      TrialRecord t;
      t.number = ts[seen_].number;
      t.outcome = st == console::TrialStatus::Fail ? Outcome::Fail : Outcome::Pass;
      // The times make the trial's racing exposure (stats/exposure.h).
      t.ms = ts[seen_].get_int("ms", 0);
      t.first_bogus_ms = ts[seen_].get_int("first_bogus_ms", -1);
      if (on_trial_ && !on_trial_(t)) stop_ = true;
    }
    return !stop_;
  }
  size_t seen() const { return seen_; }
  bool stopped() const { return stop_; }
  void stop() { stop_ = true; }
  std::optional<double> ktap_at() const { return ktap_at_; }

 private:
  const TrialFn& on_trial_;
  console::ConsoleParser parser_;
  Clock::time_point t0_ = Clock::now();
  size_t seen_ = 0;
  bool stop_ = false;
  std::optional<double> ktap_at_;
};

// A crash whose title holds the signature is the race showing as a panic:
// it counts as the failure of the trial that was running.
void count_signature_crash(BootRecord& b, const std::string& signature, LiveTrials& live, const TrialFn& on_trial) {
  if (signature.empty() || b.outcome != Outcome::Crash || b.detail.find(signature) == std::string::npos) return;
  TrialRecord t;
  t.number = static_cast<int>(b.trials.size()) + 1;
  t.outcome = Outcome::Fail;
  t.reason = "crash: " + b.detail;
  b.trials.push_back(t);
  b.outcome = Outcome::Fail;
  if (on_trial && !live.stopped()) on_trial(t);
}

}  // namespace

std::string trial_cmdline(const GuestSetup& g, int trials, int seed) {
  Args args = g.args;
  if (!g.test.empty() && g.test != "none") {
    args["trials"] = std::to_string(trials);
    args["duration_ms"] = std::to_string(g.duration_ms);
    if (!args.count("seed")) args["seed"] = std::to_string(seed);
  }
  // The nonce, the arguments' checks and the command line's shape are the
  // guest contract's (run/contract.h).
  return guest_cmdline(g.hugepages, g.test.empty() ? std::string("none") : g.test, args);
}

vm::BootSpec trial_boot_spec(const BootRequest& req, const fs::path& initrd, vm::Accel accel,
                             const fs::path& console_log) {
  const GuestSetup& g = req.guest;
  vm::BootSpec spec;
  spec.kernel = req.kernel;
  spec.initrd = initrd;
  spec.cmdline = trial_cmdline(g, req.trials, req.seed);
  if (!req.append.empty()) spec.cmdline += " " + req.append;
  spec.vcpus = g.vcpus;
  spec.memory_mb = g.memory_mb;
  spec.accel = accel;
  spec.kernel_hz = req.kernel_hz;
  spec.console_log = console_log;
  spec.timeout = std::chrono::seconds(90 + static_cast<long>(req.trials) * g.duration_ms * 2 / 1000);
  spec.no_output_timeout = std::chrono::seconds(std::max(60, 3 * g.duration_ms / 1000));
  spec.name = "rb-" + req.label;
  if (req.timeout) spec.timeout = *req.timeout;
  if (req.no_output_timeout) spec.no_output_timeout = *req.no_output_timeout;
  return spec;
}

TrialRunner::TrialRunner(fs::path cache, fs::path logs, vm::Accel accel, std::string backend, int build_jobs)
    : cache_(std::move(cache)),
      logs_(std::move(logs)),
      requested_(accel),
      backend_(std::move(backend)),
      build_jobs_(build_jobs) {}

kernel::BuildArtifact TrialRunner::build(const kernel::KernelSpec& spec) const {
  return kernel::Builder(cache_, build_jobs_).build(spec);
}

image::Initramfs TrialRunner::initramfs(const std::string& test) {
  std::lock_guard lock(mu_);
  auto it = images_.find(test);
  if (it != images_.end()) return it->second;
  std::vector<fs::path> tests;
  if (!test.empty() && test != "none") tests.push_back(guest_binary_dir() / test);
  auto img = image::build_initramfs({init_binary(), tests}, cache_);
  images_.emplace(test, img);
  return img;
}

vm::AccelChoice TrialRunner::accel(const fs::path& kernel) {
  const auto img = initramfs("none");
  std::lock_guard lock(mu_);
  if (!accel_) accel_ = vm::resolve_accel(requested_, kernel, img.path, logs_);
  return *accel_;
}

BootRecord TrialRunner::boot(const BootRequest& req, const TrialFn& on_trial) {
  try {
    return boot_once(req, on_trial);
  } catch (const std::exception& e) {
    // A worker must never take the whole run down: this boot is an
    // infrastructure error, every other record survives.
    BootRecord b;
    b.kernel_label = req.label;
    b.index = req.index;
    b.planned = req.trials;
    b.outcome = Outcome::Infra;
    b.host = host_of(backend_, req.host);
    b.detail = std::string("infrastructure error: ") + e.what();
    spdlog::error("[{}] boot {}: {}", req.label, req.index, b.detail);
    return b;
  }
}

BootRecord TrialRunner::boot_once(const BootRequest& req, const TrialFn& on_trial) {
  const auto img = initramfs(req.guest.test);
  const auto choice = accel(req.kernel);
  fs::create_directories(logs_);
  const std::string again = req.attempt > 0 ? ".r" + std::to_string(req.attempt) : "";
  const fs::path log = logs_ / (req.label + "-" + std::to_string(req.index) + again + ".log");
  vm::BootSpec spec = trial_boot_spec(req, req.initrd.empty() ? img.path : req.initrd, choice.accel, log);
  LiveTrials live(on_trial, contract_for(spec.cmdline));
  auto r = make_backend(backend_, req.host)->boot(spec, [&](std::string_view chunk) {
    return live.feed(chunk) && !stop_requested();
  });
  BootRecord b = classify_boot_file(spec, r.end);
  if (r.end == vm::BootEnd::LaunchError) b.detail = "VM did not start: " + r.error;
  // A VM stopped on a decision may have printed results after it: only the
  // trials the decision saw are evidence.
  if (r.end == vm::BootEnd::Stopped && b.trials.size() > live.seen()) b.trials.resize(live.seen());
  count_signature_crash(b, req.guest.signature, live, on_trial);
  b.host = host_of(backend_, req.host);
  if (r.host_failed) {
    // Whatever the console shows, the host broke the boot: infrastructure.
    b.host_failed = true;
    b.outcome = Outcome::Infra;
    b.detail = "host failed: " + r.error;
  }
  b.kernel_label = req.label;
  b.index = req.index;
  b.seconds = r.seconds;
  b.boot_to_first_trial_s = live.ktap_at();
  b.console_log = spec.console_log;
  b.command = r.command;
  write_file_atomic(spec.console_log.string() + ".cmd", join_argv(r.command) + "\n");
  spdlog::info("[{}] boot {}{}: {} — {} pass, {} fail, {} infra in {:.1f} s{}{}", b.kernel_label, b.index, again,
               record::to_string(b.outcome), b.passes(), b.fails(), b.infra(), b.seconds,
               b.host.empty() ? "" : " on " + b.host, b.detail.empty() ? "" : " (" + b.detail + ")");
  return b;
}

}  // namespace rb::run
