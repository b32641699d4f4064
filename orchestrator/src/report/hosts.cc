#include "report/hosts.h"

#include <fmt/format.h>

namespace rb::report {

std::vector<HostSummary> summarize_hosts(const run::CampaignResult& r) {
  std::vector<HostSummary> out;
  for (const auto& h : r.hosts) out.push_back({.uri = h.uri, .slots = h.slots, .down = h.down, .reason = h.reason});
  for (const auto& k : r.kernels)
    for (const auto& b : k.boots)
      for (auto& h : out) {
        if (h.uri != b.host) continue;
        ++h.boots;
        if (b.outcome == record::Outcome::Infra) ++h.infra_boots;
        // What a failed host's boot finished is shown with the kernel (every
        // finished trial counts), not credited to the host that failed.
        if (!b.host_failed) {
          h.trials += b.passes() + b.fails();
          h.failures += b.fails();
        }
        break;
      }
  return out;
}

std::string hosts_text(const run::CampaignResult& r) {
  const auto hs = summarize_hosts(r);
  bool pool = false;
  for (const auto& h : hs) pool |= !h.uri.empty();
  if (!pool) return {};
  std::string out = fmt::format("{:<48} {:>5} {:>5} {:>5} {:>6} {:>5}  {}\n", "host", "slots", "boots", "infra",
                                "trials", "fail", "state");
  for (const auto& h : hs)
    out += fmt::format("{:<48} {:>5} {:>5} {:>5} {:>6} {:>5}  {}\n", h.uri.empty() ? "(direct QEMU)" : h.uri, h.slots,
                       h.boots, h.infra_boots, h.trials, h.failures, h.down ? "DOWN: " + h.reason : "up");
  if (r.stranded) out += fmt::format("{} boot(s) not run: every host was down\n", r.stranded);
  return out;
}

nlohmann::json hosts_json(const run::CampaignResult& r) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& h : summarize_hosts(r))
    j.push_back({{"uri", h.uri},
                 {"slots", h.slots},
                 {"boots", h.boots},
                 {"infra_boots", h.infra_boots},
                 {"trials", h.trials},
                 {"failures", h.failures},
                 {"down", h.down},
                 {"reason", h.reason}});
  return j;
}

}  // namespace rb::report
