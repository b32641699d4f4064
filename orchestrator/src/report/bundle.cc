#include "report/bundle.h"

#include <fmt/format.h>

#include "report/hosts.h"
#include "report/stopping.h"
#include "util/fs.h"
#include "util/process.h"

namespace rb::report {

namespace {

// What the sequential rule still needs, for the progress line.
std::string stopping_progress(const stats::ReproduceStopping& st) {
  const bool patched_turn = st.unpatched().state != stats::StopState::Continue;
  return progress_line(st, patched_turn);
}

}  // namespace

std::string dump_json(const nlohmann::json& j) {
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string render_rerun(const run::CampaignResult& r) {
  std::string s = "#!/bin/sh\n# Re-run every boot of this bundle exactly (kernels from the racebisect cache).\nset -e\n";
  for (const auto& k : r.kernels)
    for (const auto& b : k.boots)
      if (!b.command.empty()) s += join_argv(b.command) + "\n";
  return s;
}

BundleText render_bundle(const run::Settings& settings, const run::CampaignResult& r, const nlohmann::json& extra,
                         const stats::ReproduceStopping* stopping) {
  Summary s = summarize(r, settings.confidence, settings.significance, stopping);
  s.stop_unpatched = settings.sequential.bug;
  s.stop_patched = settings.sequential.fixed;
  BundleText t;
  t.summary = render_table(s);
  if (!r.accel_reason.empty()) t.summary = "accelerator: " + r.accel_reason + "\n" + t.summary;
  t.summary += hosts_text(r);
  if (r.interrupted) t.summary += "interrupted: partial results\n";
  t.results = to_json(s, r);
  t.results["hosts"] = hosts_json(r);
  t.results["boots_not_run"] = r.stranded;
  for (const auto& [k, v] : extra.items()) t.results[k] = v;
  return t;
}

ProgressState campaign_progress(const run::Settings& s, const run::CampaignEvent& e, const run::CampaignResult& r,
                                const stats::ReproduceStopping* stopping) {
  ProgressState st;
  st.builds_total = static_cast<int>(s.kernels.size());
  st.builds_done = static_cast<int>(r.kernels.size());
  int built = 0;
  double boot_seconds = 0;
  for (const auto& k : r.kernels) {
    built += k.build_error.empty();
    st.boots_done += static_cast<int>(k.boots.size());
    for (const auto& b : k.boots) {
      st.trials += b.passes() + b.fails();
      st.failures += b.fails();
      boot_seconds += b.seconds;
    }
  }
  const bool all_built = st.builds_done == st.builds_total;
  st.boots_total = all_built && !stopping ? built * s.boots : 0;
  using K = run::CampaignEvent::Kind;
  if (e.kind == K::Building) st.phase = fmt::format("building {} ({}/{})", e.label, st.builds_done + 1, st.builds_total);
  else if (stopping && all_built) st.phase = stopping_progress(*stopping);
  else if (st.boots_total) st.phase = "booting";
  else st.phase = "built " + e.label;
  if (st.boots_total) st.eta_s = boots_eta(st.boots_done, st.boots_total - st.boots_done, boot_seconds, s.jobs);
  return st;
}

void write_bundle(const std::filesystem::path& dir, const BundleText& t, const run::CampaignResult& r) {
  write_file_atomic(dir / "results.json", dump_json(t.results));
  write_file_atomic(dir / "summary.txt", t.summary);
  write_file_atomic(dir / "rerun.sh", render_rerun(r));
}

}  // namespace rb::report
