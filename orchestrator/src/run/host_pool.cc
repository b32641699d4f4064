#include "run/host_pool.h"

#include <algorithm>

namespace rb::run {

namespace {

std::vector<size_t> interleave(const std::vector<HostState>& hosts) {
  std::vector<size_t> out;
  int most = 0;
  for (const auto& h : hosts) most = std::max(most, h.slots);
  for (int round = 0; round < most; ++round)
    for (size_t i = 0; i < hosts.size(); ++i)
      if (round < hosts[i].slots) out.push_back(i);
  return out;
}

}  // namespace

HostPool::HostPool(const std::vector<vm::Host>& hosts, int jobs) {
  for (const auto& h : hosts) hosts_.push_back({.uri = h.uri, .slots = h.slots});
  if (hosts_.empty()) hosts_.push_back({.uri = "", .slots = std::max(1, jobs)});
  slot_host_ = interleave(hosts_);
  busy_.assign(slot_host_.size(), false);
  const int slots = static_cast<int>(slot_host_.size());
  at_once_ = !hosts.empty() && jobs > 0 ? std::min(jobs, slots) : slots;
}

bool HostPool::may_start(size_t slot) const {
  if (running_ >= at_once_) return false;
  if (at_once_ == static_cast<int>(slot_host_.size())) return true;
  for (size_t i = 0; i < slot_host_.size(); ++i) {
    const size_t k = (turn_ + i) % slot_host_.size();
    if (!busy_[k] && up(slot_host_[k])) return k == slot;
  }
  return false;
}

void HostPool::started(size_t slot) {
  busy_[slot] = true;
  ++running_;
  turn_ = (slot + 1) % slot_host_.size();
}

void HostPool::ended(size_t slot) {
  busy_[slot] = false;
  --running_;
}

bool HostPool::finished(size_t host, const BootTask& task, int attempt, const record::BootRecord& b) {
  HostState& h = hosts_[host];
  ++h.boots;
  if (!b.host_failed) return false;
  if (!h.down) {
    h.down = true;
    h.reason = b.detail.empty() ? "host failed" : b.detail;
  }
  retries_.push_back({task, attempt + 1});
  return true;
}

std::optional<Retry> HostPool::take_retry() {
  const bool any_up = std::any_of(hosts_.begin(), hosts_.end(), [](const HostState& h) { return !h.down; });
  if (retries_.empty() || !any_up) return std::nullopt;
  Retry r = retries_.front();
  retries_.pop_front();
  return r;
}

}  // namespace rb::run
