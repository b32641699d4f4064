// A campaign runs one guest test on one or more kernels: build each (or take
// it from the cache), then boots spread over parallel VM slots, each through
// the trial runner. Deciding and reporting happen on the records (stats/,
// report/), never here; the caller sees every change as it happens, so
// results can be written incrementally and an error at the end loses nothing.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "kernel/build.h"
#include "record/records.h"
#include "run/host_pool.h"
#include "run/schedule.h"
#include "run/settings.h"
#include "run/trial_runner.h"

namespace rb::run {

using record::Outcome;
using record::to_string;

struct KernelRun {
  KernelVariant variant;
  kernel::BuildArtifact artifact;
  GuestSetup guest;  // what this kernel's boots ran (case args + the kernel's)
  std::vector<BootRecord> boots;
  std::string build_error;  // non-empty: the kernel could not be built
};

struct CampaignResult {
  std::vector<KernelRun> kernels;
  vm::Accel accel = vm::Accel::Tcg;  // what the boots used
  std::string accel_reason;
  std::string initramfs_sha256;
  bool interrupted = false;
  double seconds = 0;
  std::vector<HostState> hosts;  // the VM hosts (one local one without --connect)
  size_t stranded = 0;           // boots not run: every host was down
};

// What just happened; the observer gets it with the whole result so far.
struct CampaignEvent {
  enum class Kind { Building, Built, Booted } kind;
  std::string label;  // the kernel concerned
};
// Called before and after every build and after every boot (serialised:
// never two calls at once).
using CampaignObserver = std::function<void(const CampaignEvent&, const CampaignResult&)>;

// Builds every kernel of `s`, then boots what `schedule` asks for over
// s.jobs VM slots until it asks for nothing more (or Ctrl-C).
CampaignResult run_campaign(const Settings& s, Schedule& schedule, const CampaignObserver& on_change = {});

// The fixed design of `s`: s.boots boots of every kernel, s.trials_for() each.
FixedSchedule fixed_schedule(const Settings& s);

}  // namespace rb::run
