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
  // No hosts: one local host with `jobs` slots. With hosts, `jobs` (when
  // positive and below the slots of all hosts) caps the VMs run at once.
  HostPool(const std::vector<vm::Host>& hosts, int jobs);

  // The host of every VM slot, slots of one host interleaved with the
  // others' so that a small run still spreads over all hosts.
  const std::vector<size_t>& slot_hosts() const { return slot_host_; }
  // Whether the worker of `slot` may start a boot now. Without a cap, always.
  // Under one, no more than the cap run at once, and the idle slots of hosts
  // still up take turns (the next after the last started), so one VM at a
  // time still reaches every host.
  bool may_start(size_t slot) const;
  void started(size_t slot);
  void ended(size_t slot);
  int running() const { return running_; }  // boots started and not ended
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
  std::vector<size_t> slot_host_;
  std::vector<bool> busy_;
  int at_once_ = 0;  // the cap (all slots when there is none)
  int running_ = 0;
  size_t turn_ = 0;  // the slot that may start next under a cap
};

}  // namespace rb::run
