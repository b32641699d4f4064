// Per-host view of a campaign over a pool of VM hosts (--connect): boots,
// trials and failures each host ran, and the hosts that failed and why.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "run/campaign.h"

namespace rb::report {

struct HostSummary {
  std::string uri;
  int slots = 0, boots = 0, infra_boots = 0, trials = 0, failures = 0;
  bool down = false;
  std::string reason;
};

std::vector<HostSummary> summarize_hosts(const run::CampaignResult& r);
// A text table, or "" for a run on this machine's direct QEMU only.
std::string hosts_text(const run::CampaignResult& r);
nlohmann::json hosts_json(const run::CampaignResult& r);

}  // namespace rb::report
