#include "run/host_pool.h"

#include <algorithm>

namespace rb::run {

HostPool::HostPool(const std::vector<vm::Host>& hosts, int jobs) {
  for (const auto& h : hosts) hosts_.push_back({.uri = h.uri, .slots = h.slots});
  if (hosts_.empty()) hosts_.push_back({.uri = "", .slots = std::max(1, jobs)});
}

std::vector<size_t> HostPool::slot_hosts() const {
  std::vector<size_t> out;
  int most = 0;
  for (const auto& h : hosts_) most = std::max(most, h.slots);
  for (int round = 0; round < most; ++round)
    for (size_t i = 0; i < hosts_.size(); ++i)
      if (round < hosts_[i].slots) out.push_back(i);
  return out;
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
