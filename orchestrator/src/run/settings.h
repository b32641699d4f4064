// One settings type for every command: the case file and the command-line
// flags are resolved into a Settings once, checked completely, before any
// build or boot starts. Modules below cli/ read Settings, never flags or the
// raw case, so "what did this run use" has exactly one answer (and one hash,
// identity(), that bisect sessions and nightly cells key their evidence by).
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "kernel/source.h"
#include "run/case.h"
#include "vm/backend.h"
#include "vm/hosts.h"

namespace rb::run {

// What every trial boot shares, whoever runs it.
struct GuestSetup {
  std::string test;  // guest test binary name, /bin/<test> in the initramfs
  Args args;         // key=value arguments (trials/duration_ms/seed are added per boot)
  int hugepages = 64, vcpus = 2, memory_mb = 512, duration_ms = 3000, pages_needed = 0;
  // A crash whose title contains this counts as a failure of the race test
  // (empty: only the guest test's own failures count). Other crashes never do.
  std::string signature;
};

// The flags a command may set; unset means "the case's value".
struct Overrides {
  std::string case_file, source, commit, variant, mapping, signature, out;
  std::string test;  // another guest test than the case's ("none": just boot)
  std::string accel = "auto", backend;  // backend: qemu (default) or libvirt
  std::vector<std::string> kernels, fragments, args, patches;
  std::vector<std::string> connect;  // --connect URI[,slots=N]: a pool of libvirt hosts
  std::vector<KernelVariant> kernel_list;  // replaces the case's kernels (nightly cells)
  std::optional<int> trials, boots, duration_ms, vcpus, hugepages, memory_mb, jobs, build_jobs;
  std::optional<double> fixed_factor, confidence, significance;
  std::optional<double> alpha, fraction, max_racing_s;  // sequential stopping
  std::string design = "auto";                          // auto | fixed | sequential
  bool all_kernels = false;
};

// Sequential stopping of `reproduce` (stats/sequential.h): stop the bug
// kernel once its race is shown, the fixed one once its rate is shown below
// `fraction` x the bug kernel's lower bound (or above it), each claim with
// error <= alpha, within max_racing_s racing-seconds per kernel.
struct SequentialDesign {
  bool on = false;
  double alpha = 0.05, fraction = 0.1, max_racing_s = 600;
  size_t bug = 0, fixed = 1;  // the kernels it compares
  int trials_per_boot = 0;    // one boot asks this many (it is stopped when decided)
};

struct Settings {
  Case kase;
  kernel::SourceSpec source;
  std::vector<std::filesystem::path> fragments;  // the case's, then --fragment
  std::vector<std::filesystem::path> patches;    // --patch: on top of every kernel (bisect)
  std::vector<KernelVariant> kernels;            // in run order; see guest_for() for their args
  GuestSetup guest;
  int boots = 5;
  int trials = 4;             // per boot, on role=bug kernels
  double fixed_factor = 3.0;  // role=fixed kernels run this many times more trials per boot
  int jobs = 1;               // parallel VMs (with hosts: the sum of their slots)
  int build_jobs = 0;         // make -j (0: host cores)
  vm::Accel accel = vm::Accel::Auto;
  std::string backend = "qemu";
  std::vector<vm::Host> hosts;  // --connect: boots spread over these (backend libvirt); empty: this machine
  std::filesystem::path cache, out;
  double confidence = 0.95, significance = 0.01;
  SequentialDesign sequential;

  // Trials per boot for a kernel of this role.
  int trials_for(const KernelVariant& k) const;
  // The guest setup of one kernel: the case's args with the kernel's on top.
  GuestSetup guest_for(const KernelVariant& k) const;
  // Hash of everything that changes a failure rate (guest test, args,
  // hugepages, vCPUs, memory, duration, trials per boot (trials in one boot
  // are correlated), accelerator request, backend, signature,
  // fragments' and patches' bytes, the case file's bytes). Evidence gathered
  // under another identity is never pooled with this one.
  std::string identity() const;
};

// Loads the case (default: the embedded seed case) and applies the flags;
// `default_out` is the command's output directory when --out is not given
// (empty: the command decides once the case is known).
// Throws rb::Error(Usage) naming the offending flag or file; does no work.
Settings resolve_settings(const Overrides& o, const std::filesystem::path& default_out);

// Empty, or a warning that the VMs run at once on this machine (direct
// --jobs, or pool slots on URIs that run here) want more vCPUs than it has
// `cores`: a race slows down under load, so such a run (or a pool compared
// with direct QEMU) measures the load as much as the kernel.
std::string cpu_sharing_warning(const Settings& s, int cores);
// The same for `vms` VMs of `vcpus` each (bisect's --slots).
std::string cpu_sharing_warning(int vms, int vcpus, int cores);

vm::Accel parse_accel(const std::string& s);

}  // namespace rb::run
