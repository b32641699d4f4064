#include "cli/reproduce.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <iostream>

#include "report/summary.h"
#include "run/campaign.h"
#include "run/case.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/process.h"

namespace rb::cli {

namespace {

struct ReproduceFlags {
  std::string case_file;
  std::string source, commit;
  std::vector<std::string> kernels, fragments, args;
  std::optional<int> trials, boots, duration_ms, vcpus, hugepages, memory_mb;
  std::string variant, mapping;
  int jobs = 0;
  bool all_kernels = false;
  std::string json, out, backend = "qemu", accel = "auto";
  double confidence = 0.95, significance = 0.01, fixed_factor = 3.0;
  int build_jobs = 0;
};

std::string utc_stamp() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", std::gmtime(&t));
  return buf;
}

// "--kernel LABEL,ROLE[,PATCH...]": replaces the case's kernel list.
run::KernelVariant parse_kernel_flag(const std::string& s) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t c = s.find(',', start);
    parts.push_back(s.substr(start, c - start));
    if (c == std::string::npos) break;
    start = c + 1;
  }
  if (parts.size() < 2 || parts[0].empty() || parts[1].empty())
    throw usage_error("--kernel expects LABEL,ROLE[,PATCH...], got '" + s + "'");
  run::KernelVariant k{parts[0], parts[1], {}, {}};
  for (size_t i = 2; i < parts.size(); ++i) k.patches.push_back(fs::absolute(parts[i]));
  return k;
}

int run_reproduce(const ReproduceFlags& f) {
  const fs::path case_path = f.case_file.empty() ? run::default_case_path() : fs::path(f.case_file);
  run::Case c = run::load_case(case_path);

  run::CampaignOptions o;
  o.kernels = c.kernels;
  if (f.all_kernels) o.kernels.insert(o.kernels.end(), c.extra_kernels.begin(), c.extra_kernels.end());
  if (!f.kernels.empty()) {
    o.kernels.clear();
    for (const auto& k : f.kernels) o.kernels.push_back(parse_kernel_flag(k));
  }
  o.source = {f.source.empty() ? c.source : fs::path(f.source), f.commit};
  o.fragments = c.fragments;
  for (const auto& fr : f.fragments) o.fragments.push_back(fs::absolute(fr));
  o.guest_test = c.guest_test;
  o.guest_test_binary = fs::path(RB_GUEST_TEST_PATH).parent_path() / c.guest_test;
  o.args = c.args;
  if (!f.variant.empty()) o.args["variant"] = f.variant;
  if (!f.mapping.empty()) o.args["mapping"] = f.mapping;
  run::apply_arg_flags(o.args, f.args);
  o.trials = f.trials.value_or(c.trials);
  o.boots = f.boots.value_or(5);
  o.duration_ms = f.duration_ms.value_or(c.duration_ms);
  o.vcpus = f.vcpus.value_or(c.vcpus);
  o.hugepages = f.hugepages.value_or(c.hugepages);
  o.memory_mb = f.memory_mb.value_or(c.memory_mb);
  o.pages_needed = c.pages_needed;
  if (auto it = o.args.find("pages"); it != o.args.end()) o.pages_needed = std::atoi(it->second.c_str());
  o.fixed_trials_factor = f.fixed_factor;
  // Each VM wants one host core per vCPU (TCG runs a thread per vCPU):
  // more VMs than that only slows every race down.
  const int cores = std::max(1u, std::thread::hardware_concurrency());
  o.jobs = f.jobs > 0 ? f.jobs : std::max(1, cores / std::max(1, o.vcpus));
  o.accel = f.accel == "kvm" ? vm::Accel::Kvm : f.accel == "tcg" ? vm::Accel::Tcg : vm::Accel::Auto;
  o.backend = f.backend;
  o.cache = cache_root();
  o.build_jobs = f.build_jobs;
  o.out = f.out.empty() ? fs::absolute("racebisect-runs") / (utc_stamp() + "-" + c.name) : fs::absolute(f.out);
  run::validate(o);
  fs::create_directories(o.out);
  fs::copy_file(c.file, o.out / "case.toml", fs::copy_options::overwrite_existing);
  spdlog::info("case {} ({} kernel(s), {} boot(s) each, {} trial(s)/boot of {} ms, {} VM slot(s)); bundle {}", c.name,
               o.kernels.size(), o.boots, o.trials, o.duration_ms, o.jobs, o.out.string());

  run::CampaignResult r = run::run_campaign(o);
  report::Summary s = report::summarize(r, f.confidence, f.significance);
  std::string table = report::render_table(s);
  if (!r.accel_reason.empty()) table = "accelerator: " + r.accel_reason + "\n" + table;
  if (r.interrupted) table += "interrupted: partial results (Ctrl-C)\n";
  std::cout << table << std::flush;
  auto j = report::to_json(s, r);
  j["case"] = c.name;
  j["bundle"] = o.out.string();
  write_file_atomic(o.out / "results.json", j.dump(2));
  write_file_atomic(o.out / "summary.txt", table);
  std::string rerun = "#!/bin/sh\n# Re-run every boot of this bundle exactly (kernels from the racebisect cache).\nset -e\n";
  for (const auto& k : r.kernels)
    for (const auto& b : k.boots) rerun += join_argv(b.command) + "\n";
  write_file_atomic(o.out / "rerun.sh", rerun);
  if (!f.json.empty()) write_file_atomic(f.json, j.dump(2));
  std::cout << "bundle: " << o.out.string() << "\n";
  return r.interrupted ? 130 : s.verdict.exit_code();
}

}  // namespace

std::function<int()> add_reproduce(CLI::App& app) {
  auto f = std::make_shared<ReproduceFlags>();
  auto* sub = app.add_subcommand("reproduce", "Build the case's kernels, boot them, run the race test, report rates and a verdict");
  sub->add_option("--case", f->case_file, "case file (default: the seed race, kernels/cases/uffd-hugetlb.toml)");
  sub->add_option("--source", f->source, "kernel source: a tarball or a git work tree (default: the case's)");
  sub->add_option("--commit", f->commit, "commit to build when --source is a git tree (default HEAD)");
  sub->add_option("--kernel", f->kernels, "LABEL,ROLE[,PATCH...]: replaces the case's kernels (ROLE bug|fixed|info)");
  sub->add_option("--fragment", f->fragments, "extra config fragment(s), merged after the case's");
  sub->add_option("--trials", f->trials, "trials per boot on the bug kernel (fixed kernels get --fixed-factor x)");
  sub->add_option("--boots", f->boots, "boots per kernel (default 5)");
  sub->add_option("--duration-ms", f->duration_ms, "length of one trial in the guest");
  sub->add_option("--fixed-factor", f->fixed_factor, "trial multiplier for role=fixed kernels (default 3)");
  sub->add_option("--vcpus", f->vcpus, "guest vCPUs");
  sub->add_option("--hugepages", f->hugepages, "2 MiB hugepages reserved on the guest command line");
  sub->add_option("--memory-mb", f->memory_mb, "guest RAM");
  sub->add_option("--variant", f->variant, "guest test variant (uffd-race: missing|minor)");
  sub->add_option("--mapping", f->mapping, "guest mapping (uffd-race: noreserve|reserved)");
  sub->add_option("--arg", f->args, "extra guest test argument KEY=VALUE");
  sub->add_option("--jobs,-j", f->jobs, "parallel VMs (default: host cores / vCPUs)");
  sub->add_flag("--all-kernels", f->all_kernels, "also run the case's extra kernels");
  sub->add_option("--json", f->json, "write results as JSON to this file");
  sub->add_option("--out", f->out, "bundle directory (default racebisect-runs/<time>-<case>)");
  sub->add_option("--backend", f->backend, "qemu or libvirt")->check(CLI::IsMember({"qemu", "libvirt"}));
  sub->add_option("--accel", f->accel, "auto (probe KVM, fall back to TCG), kvm or tcg")
      ->check(CLI::IsMember({"auto", "kvm", "tcg"}));
  sub->add_option("--confidence", f->confidence, "interval confidence (default 0.95)");
  sub->add_option("--significance", f->significance, "significance level of the comparison (default 0.01)");
  sub->add_option("--build-jobs", f->build_jobs, "make -j for kernel builds (default: cores)");
  return [f, sub]() -> int { return sub->parsed() ? run_reproduce(*f) : -1; };
}

}  // namespace rb::cli
