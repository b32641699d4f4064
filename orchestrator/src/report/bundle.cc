#include "report/bundle.h"

#include "util/fs.h"
#include "util/process.h"

namespace rb::report {

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

BundleText render_bundle(const run::CampaignResult& r, double confidence, double significance,
                         const nlohmann::json& extra) {
  Summary s = summarize(r, confidence, significance);
  BundleText t;
  t.summary = render_table(s);
  if (!r.accel_reason.empty()) t.summary = "accelerator: " + r.accel_reason + "\n" + t.summary;
  if (r.interrupted) t.summary += "interrupted: partial results\n";
  t.results = to_json(s, r);
  for (const auto& [k, v] : extra.items()) t.results[k] = v;
  return t;
}

void write_bundle(const std::filesystem::path& dir, const BundleText& t, const run::CampaignResult& r) {
  write_file_atomic(dir / "results.json", dump_json(t.results));
  write_file_atomic(dir / "summary.txt", t.summary);
  write_file_atomic(dir / "rerun.sh", render_rerun(r));
}

}  // namespace rb::report
