// Sequential stopping for `reproduce` as a campaign schedule: the unpatched
// kernel boots until its race is shown (rate bounded away from 0, known well
// enough to be a yardstick), then the patched kernel until its rate is shown
// below `fraction` of the unpatched lower bound -- or above it -- or a cap
// is reached. Each VM stops the moment its kernel's question is answered; the
// bounds are time-uniform (stats/sequential.h), so looking after every trial
// costs no validity.
#pragma once
#include <cstddef>

#include "run/schedule.h"
#include "stats/sequential.h"

namespace rb::stats {

class ReproduceSchedule : public run::Schedule {
 public:
  // `trials_per_boot`: what one boot asks (it is stopped when decided).
  ReproduceSchedule(size_t unpatched, size_t patched, SequentialParams params, int trials_per_boot);

  void start(const std::vector<bool>& runnable) override;
  std::optional<run::BootTask> next(const std::vector<int>& running) override;
  bool on_trial(size_t kernel, const record::TrialRecord& t) override;
  void on_boot(size_t kernel, const record::BootRecord& b) override;

  const ReproduceStopping& stopping() const { return stop_; }
  // A kernel given up because its boots yield no trials (boot failures,
  // crashes, environment errors): the verdict is an infrastructure error.
  bool gave_up(size_t kernel) const;

 private:
  struct Side {
    size_t index;
    bool runnable = false;
    int boots = 0, boots_without_trials = 0;
    bool gave_up = false;
  };
  bool decided(const Side& side) const;
  std::optional<run::BootTask> boot_of(Side& side, const std::vector<int>& running);

  ReproduceStopping stop_;
  Side u_, p_;
  int trials_per_boot_;
};

// Boots in a row without a single trial before a kernel is given up.
inline constexpr int kMaxBootsWithoutTrials = 3;

}  // namespace rb::stats
