#include "cli/build_cmd.h"

#include <fmt/format.h>

#include <iostream>

#include "kernel/build.h"
#include "run/settings.h"
#include "util/error.h"
#include "util/fs.h"

namespace rb::cli {

namespace {

struct BuildFlags {
  run::Overrides o;
  std::vector<std::string> only;
};

int run_build(const BuildFlags& f) {
  const run::Settings s = run::resolve_settings(f.o, fs::current_path());
  int built = 0;
  for (const auto& k : s.kernels) {
    if (!f.only.empty() && std::find(f.only.begin(), f.only.end(), k.label) == f.only.end()) continue;
    std::vector<fs::path> patches = s.patches;
    patches.insert(patches.end(), k.patches.begin(), k.patches.end());
    kernel::KernelSpec spec{k.label, s.source, patches, s.fragments, "tinyconfig"};
    auto a = kernel::Builder(s.cache, s.build_jobs).build(spec);
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
  sub->add_option("--case", f->o.case_file, "case file (default: the seed race)");
  sub->add_option("--source", f->o.source, "kernel source: tarball or git work tree");
  sub->add_option("--commit", f->o.commit, "commit for a git source");
  sub->add_option("--only", f->only, "build only these kernel labels");
  sub->add_option("--kernel", f->o.kernels, "LABEL,ROLE[,PATCH...]: replaces the case's kernels");
  sub->add_option("--fragment", f->o.fragments, "extra config fragment(s)");
  sub->add_flag("--all-kernels", f->o.all_kernels, "include the case's extra kernels");
  sub->add_option("--jobs,-j", f->o.build_jobs, "make -j (default: cores)");
  return [f, sub]() -> int { return sub->parsed() ? run_build(*f) : -1; };
}

}  // namespace rb::cli
