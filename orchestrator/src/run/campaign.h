// A campaign runs one guest test on one or more kernels: build (or take from
// cache) -> initramfs -> boots (in parallel VM slots) -> parse each console
// -> per-boot and per-trial records. Deciding and reporting happen later on
// these records (stats/, report/), never here.
#pragma once
#include <atomic>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "kernel/build.h"
#include "record/records.h"
#include "run/classify.h"
#include "run/case.h"
#include "run/contract.h"
#include "vm/backend.h"

namespace rb::run {

using record::BootRecord;
using record::Outcome;
using record::TrialRecord;
using record::to_string;

struct KernelRun {
  KernelVariant variant;
  kernel::BuildArtifact artifact;
  Args args;  // effective guest args
  std::vector<BootRecord> boots;
  std::string build_error;  // non-empty: the kernel could not be built
};

struct CampaignOptions {
  std::vector<KernelVariant> kernels;
  kernel::SourceSpec source;
  std::vector<std::filesystem::path> fragments;
  std::string guest_test;
  std::filesystem::path guest_test_binary;  // host path of the static binary
  Args args;
  int boots = 5, trials = 4, duration_ms = 3000;
  double fixed_trials_factor = 3.0;  // kernels with role "fixed" get this many more trials per boot
  int hugepages = 64, vcpus = 2, memory_mb = 512, pages_needed = 0;
  int jobs = 1;  // parallel VMs
  vm::Accel accel = vm::Accel::Auto;
  std::string backend = "qemu";
  std::filesystem::path out;    // bundle directory
  std::filesystem::path cache;  // build/image cache
  int build_jobs = 0;
  bool stop_on_build_error = false;  // usage errors always stop
};

struct CampaignResult {
  std::vector<KernelRun> kernels;
  std::string accel_reason;
  std::string initramfs_sha256;
  bool interrupted = false;
  double seconds = 0;
};

// Checks what can be checked before any build (hugepages vs RAM, files exist).
void validate(const CampaignOptions& o);

// Set from a SIGINT handler: running VMs are stopped, partial results kept.
extern std::atomic<bool> g_interrupted;

CampaignResult run_campaign(const CampaignOptions& o);

// What every trial boot shares, whoever runs it (reproduce or a bisect step).
struct GuestSetup {
  std::string test;
  Args args;
  int hugepages = 64, vcpus = 2, memory_mb = 512, duration_ms = 3000;
};
// A boot running `trials` trials with `seed`: the command line, and timeouts
// that allow every trial its full length on a loaded host.
vm::BootSpec trial_boot_spec(const GuestSetup& g, const std::filesystem::path& kernel,
                             const std::filesystem::path& initrd, vm::Accel accel, int trials, int seed,
                             const std::filesystem::path& console_log);


}  // namespace rb::run
