// The one trial runner. Every command that runs a race test -- reproduce,
// boot, bisect-step, bisect, nightly -- goes through it: build the kernel
// (content-addressed cache), make the initramfs, resolve the accelerator,
// boot, parse the console as it arrives, classify, and hand each trial and
// boot record to the caller the moment it exists. What to run next and when
// to stop is the caller's business (campaign, commit runner), never this one's.
#pragma once
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "image/initramfs.h"
#include "kernel/build.h"
#include "record/records.h"
#include "run/settings.h"
#include "vm/accel.h"

namespace rb::run {

using record::BootRecord;
using record::TrialRecord;

struct BootRequest {
  std::string label;  // kernel label: names the console log, tags the record
  int index = 0;      // boot number (console log name)
  std::filesystem::path kernel;
  std::optional<int> kernel_hz;  // its CONFIG_HZ when known (kernel::BuildArtifact::hz)
  GuestSetup guest;
  int trials = 1;  // trials asked of the guest test in this boot
  int seed = 1;
  // The libvirt URI to boot on (a pool host); empty: the runner's backend.
  std::string host;
  int attempt = 0;  // > 0: a re-run after a host failed (its own console log)
  // For `racebisect boot` only: extra kernel arguments, another initramfs,
  // fixed timeouts instead of the ones derived from the trials.
  std::string append;
  std::filesystem::path initrd;
  std::optional<std::chrono::seconds> timeout, no_output_timeout;
};

// Called for every finished pass/fail trial as it arrives (including a
// crash that matches the signature); returning false stops the VM.
using TrialFn = std::function<bool(const TrialRecord&)>;

class TrialRunner {
 public:
  // `logs`: where console logs go (logs/<label>-<index>.log).
  TrialRunner(std::filesystem::path cache, std::filesystem::path logs, vm::Accel accel, std::string backend,
              int build_jobs = 0);

  // Builds or finds a kernel. Bad input throws rb::Error(Usage); a failed
  // compile throws rb::Error(Infrastructure).
  kernel::BuildArtifact build(const kernel::KernelSpec& spec) const;
  // The initramfs for a guest test ("none": /init only), built once.
  image::Initramfs initramfs(const std::string& test);
  // Probes KVM once per process with a built kernel; see vm/accel.h.
  vm::AccelChoice accel(const std::filesystem::path& kernel);

  // One boot, classified. Never throws: a failure of the machinery becomes
  // an Infra boot record with the reason in `detail`. Thread-safe.
  BootRecord boot(const BootRequest& req, const TrialFn& on_trial = {});

  const std::filesystem::path& logs() const { return logs_; }

 private:
  BootRecord boot_once(const BootRequest& req, const TrialFn& on_trial);

  std::filesystem::path cache_, logs_;
  vm::Accel requested_;
  std::string backend_;
  int build_jobs_;
  std::mutex mu_;
  std::map<std::string, image::Initramfs> images_;
  std::optional<vm::AccelChoice> accel_;
};

// The kernel command line for a boot of `g` running `trials` trials.
std::string trial_cmdline(const GuestSetup& g, int trials, int seed);
// A boot of `req`: command line, and timeouts that allow every trial its
// full length on a loaded host.
vm::BootSpec trial_boot_spec(const BootRequest& req, const std::filesystem::path& initrd, vm::Accel accel,
                             const std::filesystem::path& console_log);

}  // namespace rb::run
