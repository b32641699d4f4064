// Which VM slot runs on which host, which hosts are still up, and the boots
// that must run again because their host failed under them. The campaign's
// boot loop asks it under its own lock (the pool is not thread-safe).
//
// A host fails when its libvirt connection cannot be opened or drops during
// a boot (vm::BootResult::host_failed). Its boot is kept as an Infra record
// (never a pass or fail boot, whatever trials it finished), the task goes
// back to the pool to run on another host, and the failed host gets no
// more boots in this run.
#pragma once
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "record/records.h"
#include "run/schedule.h"
#include "vm/hosts.h"

namespace rb::run {

struct HostState {
  std::string uri;  // empty: this machine (no --connect)
  int slots = 1;
  int boots = 0;  // finished on it, the failed one included
  bool down = false;
  std::string reason;  // why it was marked down
};

struct Retry {
  BootTask task;
  int attempt = 1;  // 1 = the first re-run
};

class HostPool {
 public:
  // No hosts: one local host with `jobs` slots.
  HostPool(const std::vector<vm::Host>& hosts, int jobs);

  // The host of every VM slot, slots of one host interleaved with the
  // others' so that a small run still spreads over all hosts.
  std::vector<size_t> slot_hosts() const;
  bool up(size_t host) const { return !hosts_[host].down; }
  const std::string& uri(size_t host) const { return hosts_[host].uri; }

  // A boot of `task` (attempt `attempt`) ended on `host`. Returns true when
  // the host failed: the host is down and the task waits for another host.
  bool finished(size_t host, const BootTask& task, int attempt, const record::BootRecord& b);
  // A task to run again, if any host is still up to run it.
  std::optional<Retry> take_retry();
  // Tasks no host is left to run.
  size_t stranded() const { return retries_.size(); }

  const std::vector<HostState>& hosts() const { return hosts_; }

 private:
  std::vector<HostState> hosts_;
  std::deque<Retry> retries_;
};

}  // namespace rb::run
