// What a campaign runs next. The campaign owns the VM slots and the records;
// a Schedule only decides: which kernel boots next with how many trials, and
// whether a running VM should stop after a trial. The fixed design (boots x
// trials) lives here; sequential stopping (stats/reproduce_schedule.h)
// implements the same interface, so both run through one campaign loop.
// Every call is made under the campaign's lock: never two at once.
#pragma once
#include <cstddef>
#include <optional>
#include <vector>

#include "record/records.h"

namespace rb::run {

struct BootTask {
  size_t kernel = 0;  // index into the campaign's kernels
  int trials = 1;     // trials asked of this boot
  int boot = 0;       // 1-based boot number of this kernel
};

class Schedule {
 public:
  virtual ~Schedule() = default;
  // Which kernels were built and can boot (called once, before next()).
  virtual void start(const std::vector<bool>& runnable) = 0;
  // The next boot, or nullopt if none is wanted now. `running[k]` is the
  // number of VMs of kernel k in flight; with nullopt and nothing in flight,
  // the campaign ends.
  virtual std::optional<BootTask> next(const std::vector<int>& running) = 0;
  // A finished trial of a running boot; false stops that VM now.
  virtual bool on_trial(size_t kernel, const record::TrialRecord& t) = 0;
  // A finished boot (its trials were already seen by on_trial).
  virtual void on_boot(size_t kernel, const record::BootRecord& b) = 0;
};

// boots x kernels, in rounds (boot 1 of every kernel, then boot 2, ...), each
// with the kernel's own trial count; never stops a VM early.
class FixedSchedule : public Schedule {
 public:
  FixedSchedule(int boots, std::vector<int> trials_per_kernel);
  void start(const std::vector<bool>& runnable) override;
  std::optional<BootTask> next(const std::vector<int>& running) override;
  bool on_trial(size_t, const record::TrialRecord&) override { return true; }
  void on_boot(size_t, const record::BootRecord&) override {}

 private:
  int boots_;
  std::vector<int> trials_;
  std::vector<BootTask> queue_;
  size_t next_ = 0;
};

}  // namespace rb::run
