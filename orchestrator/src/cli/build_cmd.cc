#include "cli/build_cmd.h"

#include <fmt/format.h>

#include <iostream>

#include "kernel/build.h"
#include "run/case.h"
#include "util/error.h"
#include "util/fs.h"

namespace rb::cli {

namespace {

struct BuildFlags {
  std::string case_file, source, commit;
  std::vector<std::string> only, fragments;
  bool all_kernels = false;
  int jobs = 0;
};

int run_build(const BuildFlags& f) {
  run::Case c = run::load_case(f.case_file.empty() ? run::default_case_path() : fs::path(f.case_file));
  auto kernels = c.kernels;
  if (f.all_kernels) kernels.insert(kernels.end(), c.extra_kernels.begin(), c.extra_kernels.end());
  auto fragments = c.fragments;
  for (const auto& fr : f.fragments) fragments.push_back(fs::absolute(fr));
  kernel::Builder builder(cache_root(), f.jobs);
  int built = 0;
  for (const auto& k : kernels) {
    if (!f.only.empty() && std::find(f.only.begin(), f.only.end(), k.label) == f.only.end()) continue;
    kernel::KernelSpec spec{k.label, {f.source.empty() ? c.source : fs::path(f.source), f.commit}, k.patches, fragments,
                            "tinyconfig"};
    auto a = builder.build(spec);
    std::cout << fmt::format("{}\t{}\t{}\t{:.1f}s\t{}\n", k.label, a.cache_hit ? "cached" : "built", a.key, a.seconds,
                             a.bzimage.string());
    ++built;
  }
  if (!built) throw usage_error("no kernel matched --only");
  return 0;
}

}  // namespace

std::function<int()> add_build(CLI::App& app) {
  auto f = std::make_shared<BuildFlags>();
  auto* sub = app.add_subcommand("build", "Build (or find cached) the case's kernels; prints label, cached|built, key, "
                                          "seconds, bzImage path");
  sub->add_option("--case", f->case_file, "case file (default: the seed race)");
  sub->add_option("--source", f->source, "kernel source: tarball or git work tree");
  sub->add_option("--commit", f->commit, "commit for a git source");
  sub->add_option("--only", f->only, "build only these kernel labels");
  sub->add_option("--fragment", f->fragments, "extra config fragment(s)");
  sub->add_flag("--all-kernels", f->all_kernels, "include the case's extra kernels");
  sub->add_option("--jobs,-j", f->jobs, "make -j (default: cores)");
  return [f, sub]() -> int { return sub->parsed() ? run_build(*f) : -1; };
}

}  // namespace rb::cli
