#include "run/schedule.h"

namespace rb::run {

FixedSchedule::FixedSchedule(int boots, std::vector<int> trials_per_kernel)
    : boots_(boots), trials_(std::move(trials_per_kernel)) {}

void FixedSchedule::start(const std::vector<bool>& runnable) {
  for (int b = 1; b <= boots_; ++b)
    for (size_t k = 0; k < trials_.size() && k < runnable.size(); ++k)
      if (runnable[k]) queue_.push_back({k, trials_[k], b});
}

std::optional<BootTask> FixedSchedule::next(const std::vector<int>&) {
  if (next_ >= queue_.size()) return std::nullopt;
  return queue_[next_++];
}

}  // namespace rb::run
