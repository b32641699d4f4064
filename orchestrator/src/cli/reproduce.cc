#include "cli/reproduce.h"

#include <spdlog/spdlog.h>

#include <iostream>

#include "report/bundle.h"
#include "run/campaign.h"
#include "run/settings.h"
#include "stats/reproduce_schedule.h"
#include "util/fs.h"

namespace rb::cli {

namespace {

struct ReproduceFlags {
  run::Overrides o;
  std::string json;
};

int run_reproduce(const ReproduceFlags& f) {
  run::Settings s = run::resolve_settings(f.o, {});
  if (s.out.empty()) s.out = stamped_dir("racebisect-runs", s.kase.name);
  fs::create_directories(s.out);
  fs::copy_file(s.kase.file, s.out / "case.toml", fs::copy_options::overwrite_existing);
  if (s.sequential.on)
    spdlog::info("case {}: sequential stopping ({} vs {}: race shown, then rate shown < {} x its lower bound, each "
                 "at error <= {}; cap {} racing-s per kernel), trials of {} ms, {} VM slot(s); bundle {}",
                 s.kase.name, s.kernels[s.sequential.bug].label, s.kernels[s.sequential.fixed].label,
                 s.sequential.fraction, s.sequential.alpha, s.sequential.max_racing_s, s.guest.duration_ms, s.jobs,
                 s.out.string());
  else
    spdlog::info("case {} ({} kernel(s), {} boot(s) each, {} trial(s)/boot of {} ms, {} VM slot(s)); bundle {}",
                 s.kase.name, s.kernels.size(), s.boots, s.trials, s.guest.duration_ms, s.jobs, s.out.string());
  const nlohmann::json extra = {{"case", s.kase.name}, {"bundle", s.out.string()}};
  // One schedule: sequential stopping for a bug/fixed pair, else boots x trials.
  stats::ReproduceSchedule sequential(s.sequential.bug, s.sequential.fixed,
                                      {.alpha = s.sequential.alpha, .fraction = s.sequential.fraction,
                                       .max_exposure_s = s.sequential.max_racing_s},
                                      s.sequential.trials_per_boot);
  run::FixedSchedule fixed = run::fixed_schedule(s);
  run::Schedule& schedule = s.sequential.on ? static_cast<run::Schedule&>(sequential) : fixed;
  const stats::ReproduceStopping* stopping = s.sequential.on ? &sequential.stopping() : nullptr;
  auto write = [&](const run::CampaignResult& r) {
    auto text = report::render_bundle(s, r, extra, stopping);
    report::write_bundle(s.out, text, r);
    if (!f.json.empty()) write_file_atomic(f.json, report::dump_json(text.results));
    return text;
  };
  run::CampaignResult r;
  {
    auto meter = report::make_stderr_meter();
    r = run::run_campaign(s, schedule, [&](const run::CampaignEvent& e, const run::CampaignResult& now) {
      meter.update(report::campaign_progress(s, e, now, stopping));
      if (e.kind != run::CampaignEvent::Kind::Building) write(now);
    });
  }
  const auto text = write(r);
  std::cout << text.summary << "bundle: " << s.out.string() << "\n" << std::flush;
  if (r.interrupted) return 130;
  return text.results["verdict"]["exit_code"].get<int>();
}

}  // namespace

std::function<int()> add_reproduce(CLI::App& app) {
  auto f = std::make_shared<ReproduceFlags>();
  auto& o = f->o;
  auto* sub = app.add_subcommand("reproduce", "Build the case's kernels, boot them, run the race test, report rates and a verdict");
  sub->add_option("--case", o.case_file, "case file (default: the seed race, kernels/cases/uffd-hugetlb.toml)");
  sub->add_option("--source", o.source, "kernel source: a tarball or a git work tree (default: the case's)");
  sub->add_option("--commit", o.commit, "commit to build when --source is a git tree (default HEAD)");
  sub->add_option("--kernel", o.kernels, "LABEL,ROLE[,PATCH...]: replaces the case's kernels (ROLE bug|fixed|info)");
  sub->add_option("--fragment", o.fragments, "extra config fragment(s), merged after the case's");
  sub->add_option("--design", o.design,
                  "auto (sequential stopping for a bug/fixed pair unless --trials/--boots), fixed or sequential");
  sub->add_option("--alpha", o.alpha, "sequential: error rate of each claim (default 0.05)");
  sub->add_option("--fraction", o.fraction,
                  "sequential: 'fixed' = rate below this fraction of the bug kernel's lower bound (default 0.1)");
  sub->add_option("--max-racing-seconds", o.max_racing_s, "sequential: cap per kernel (default 600)");
  sub->add_option("--trials", o.trials,
                  "fixed design: trials per boot on the bug kernel (fixed kernels get --fixed-factor x)");
  sub->add_option("--boots", o.boots, "fixed design: boots per kernel (default 5)");
  sub->add_option("--duration-ms", o.duration_ms, "length of one trial in the guest");
  sub->add_option("--fixed-factor", o.fixed_factor, "trial multiplier for role=fixed kernels (default 3)");
  sub->add_option("--vcpus", o.vcpus, "guest vCPUs");
  sub->add_option("--hugepages", o.hugepages, "2 MiB hugepages reserved on the guest command line");
  sub->add_option("--memory-mb", o.memory_mb, "guest RAM");
  sub->add_option("--variant", o.variant, "guest test variant (uffd-race: missing|minor)");
  sub->add_option("--mapping", o.mapping, "guest mapping (uffd-race: noreserve|reserved)");
  sub->add_option("--arg", o.args, "extra guest test argument KEY=VALUE");
  sub->add_option("--signature", o.signature, "also count a crash whose title contains this text as a failure");
  sub->add_option("--jobs,-j", o.jobs, "parallel VMs (default: host cores / vCPUs; with --connect: VMs at once over all slots, default all)");
  sub->add_flag("--all-kernels", o.all_kernels, "also run the case's extra kernels");
  sub->add_option("--json", f->json, "write results as JSON to this file");
  sub->add_option("--out", o.out, "bundle directory (default racebisect-runs/<time>-<case>)");
  sub->add_option("--backend", o.backend, "qemu or libvirt");
  sub->add_option("--connect", o.connect,
                  "URI[,slots=N]: run VMs on this libvirt host (repeat for a pool; --jobs caps the VMs at once; see docs/FLEET.md)");
  sub->add_option("--accel", o.accel, "auto (probe KVM, fall back to TCG), kvm or tcg");
  sub->add_option("--confidence", o.confidence, "interval confidence (default 0.95)");
  sub->add_option("--significance", o.significance, "significance level of the comparison (default 0.01)");
  sub->add_option("--build-jobs", o.build_jobs, "make -j for kernel builds (default: cores)");
  return [f, sub]() -> int { return sub->parsed() ? run_reproduce(*f) : -1; };
}

}  // namespace rb::cli
