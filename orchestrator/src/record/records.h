// What a run produces, one record per trial and per boot. These types sit
// below run/ and store/ so that the store persists them without depending on
// how they were produced; stats/, bisect/ and report/ read them.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "vm/backend.h"

namespace rb::record {

// What one trial or boot contributed. Only Pass and Fail enter a failure
// rate; everything else is counted and shown but never mixed in.
enum class Outcome { Pass, Fail, Crash, BootFailure, Hang, Timeout, Infra };
const char* to_string(Outcome o);

struct TrialRecord {
  int number = 0;
  Outcome outcome = Outcome::Infra;
  long events = 0, bogus = 0, toggles = 0, reads = 0, ms = 0, first_bogus_ms = -1;
  std::string reason;  // ERROR/SKIP text for infra trials
};

struct BootRecord {
  std::string kernel_label;
  int index = 0;
  Outcome outcome = Outcome::Infra;  // the boot as a whole: Pass if it ran cleanly (trials decide fail)
  std::string detail;                // crash title, init error, launch error, ...
  vm::BootEnd end = vm::BootEnd::LaunchError;
  double seconds = 0;
  std::optional<double> boot_to_first_trial_s;  // host wall clock, QEMU start -> the test's KTAP header
  std::optional<double> first_failure_s;        // guest time from the first trial start to the first bogus event
  int planned = 0;
  std::vector<TrialRecord> trials;
  std::filesystem::path console_log;
  std::vector<std::string> command;
  // The libvirt URI of the host it ran on (--connect, or --backend libvirt's
  // qemu:///system); empty for the direct QEMU backend on this machine.
  std::string host;
  // Its host failed under it (connection refused or lost): an Infra boot
  // that was run again on another host.
  bool host_failed = false;
  int passes() const;
  int fails() const;
  int infra() const;  // trials that ended in ERROR/SKIP
};

}  // namespace rb::record
