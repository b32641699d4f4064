#include "stats/reproduce_schedule.h"

#include "stats/exposure.h"

namespace rb::stats {

ReproduceSchedule::ReproduceSchedule(size_t unpatched, size_t patched, SequentialParams params, int trials_per_boot)
    : stop_(params), u_{unpatched}, p_{patched}, trials_per_boot_(trials_per_boot) {}

void ReproduceSchedule::start(const std::vector<bool>& runnable) {
  u_.runnable = u_.index < runnable.size() && runnable[u_.index];
  p_.runnable = p_.index < runnable.size() && runnable[p_.index];
}

bool ReproduceSchedule::decided(const Side& side) const {
  if (side.gave_up || !side.runnable) return true;
  const auto& d = &side == &u_ ? stop_.unpatched() : stop_.patched();
  return d.state != StopState::Continue;
}

bool ReproduceSchedule::gave_up(size_t kernel) const {
  return (kernel == u_.index && u_.gave_up) || (kernel == p_.index && p_.gave_up);
}

std::optional<run::BootTask> ReproduceSchedule::boot_of(Side& side, const std::vector<int>& running) {
  if (decided(side) || running[side.index] > 0) return std::nullopt;
  return run::BootTask{side.index, trials_per_boot_, ++side.boots};
}

std::optional<run::BootTask> ReproduceSchedule::next(const std::vector<int>& running) {
  if (!decided(u_)) {
    if (auto t = boot_of(u_, running)) return t;
    // A second slot may race the patched kernel meanwhile: its bounds are
    // valid whenever they are looked at, and its target follows the
    // unpatched bound as it tightens.
    return boot_of(p_, running);
  }
  // Without a race on the unpatched kernel there is no yardstick for a fix.
  if (stop_.unpatched().finding != Finding::RacePresent) return std::nullopt;
  return boot_of(p_, running);
}

bool ReproduceSchedule::on_trial(size_t kernel, const record::TrialRecord& t) {
  const auto e = trial_exposure(t);
  Side& side = kernel == u_.index ? u_ : p_;
  if (decided(side)) return false;
  if (!e) return true;  // not a race trial (infrastructure): no evidence either way
  const auto d = kernel == u_.index ? stop_.add_unpatched(e->failed, e->seconds)
                                    : stop_.add_patched(e->failed, e->seconds);
  return d.state == StopState::Continue;
}

void ReproduceSchedule::on_boot(size_t kernel, const record::BootRecord& b) {
  Side& side = kernel == u_.index ? u_ : p_;
  side.boots_without_trials = b.passes() + b.fails() == 0 ? side.boots_without_trials + 1 : 0;
  if (side.boots_without_trials >= kMaxBootsWithoutTrials) side.gave_up = true;
}

}  // namespace rb::stats
