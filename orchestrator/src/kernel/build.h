// Kernel builds: KernelSpec -> verified .config -> bzImage, cached by content.
//
// Two caches, for two kinds of reuse:
//  * the artifact cache (cache/kernels/<key>/) is content-addressed: the key
//    hashes the source identity, every patch's bytes, every fragment's bytes,
//    the base config target and the compiler version, so an exact repeat is
//    served without touching the tree at all;
//  * the build directory (<work tree>/.racebisect-build-<config>/) is
//    persistent per source tree and fragment set, so a different patch set or
//    bisect step only recompiles the files that changed (make O=...); ccache
//    serves a new tree's first build from any other tree's objects.
// The merged .config is a function of the key's inputs, so it is verified and
// stored with the artifact rather than being part of the key.
//
// Crash consistency: an entry is built in <key>.partial.<pid>.<n> and renamed
// into place only if the name is free (never delete-then-rename); every hit
// is verified (meta.json parses, the bzImage's sha256 matches it) and a
// corrupt entry is moved aside to <key>.corrupt.* and rebuilt; after taking
// the build lock the cache is checked again, so two processes never build the
// same key; partial directories of dead processes are removed. A build killed
// half-way leaves a marker in the build directory, and the next build there
// first deletes the outputs kbuild would wrongly trust (see build.cc).
#pragma once
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "kernel/config.h"
#include "kernel/source.h"

namespace rb::kernel {

struct KernelSpec {
  std::string label;                                // e.g. "unpatched"
  SourceSpec source;
  std::vector<std::filesystem::path> patches;       // applied in order
  std::vector<std::filesystem::path> fragments;     // merged in order onto `base`
  std::string base = "tinyconfig";                  // make target giving the base config
};

// CONFIG_HZ of a kernel in a cache's layout (<key>/bzImage beside
// <key>/config); nullopt for a kernel from elsewhere (a bzImage does not
// say its HZ). For `racebisect boot --kernel`, which takes a path.
std::optional<int> cached_kernel_hz(const std::filesystem::path& bzimage);

struct BuildArtifact {
  std::string key;
  std::filesystem::path dir;      // cache/kernels/<key>
  std::filesystem::path bzimage;
  std::filesystem::path config;   // merged, verified .config
  std::filesystem::path log;      // full build log
  std::string bzimage_sha256;
  std::optional<int> hz;          // CONFIG_HZ of `config`: the boot's TCG presets (vm/qemu.cc)
  std::string source_identity;
  bool cache_hit = false;
  double seconds = 0;             // wall time of this call
};

// Upper bounds on waits, so a wedged make or a lock holder that never lets go
// ends as an infrastructure error naming it instead of a run that never ends.
struct BuildLimits {
  std::chrono::seconds config{std::chrono::minutes(10)};  // make tinyconfig / olddefconfig
  std::chrono::seconds build{std::chrono::hours(3)};      // make bzImage (a cold build here: ~5 min)
  std::chrono::seconds lock{std::chrono::hours(4)};       // waiting for another build in the same tree
};

class Builder {
 public:
  explicit Builder(std::filesystem::path cache, int jobs = 0, BuildLimits limits = {});
  // Throws rb::Error: Usage for bad input (missing source/patch/fragment,
  // patch that does not apply, option that cannot be set), Infrastructure for
  // a failed compile (message carries the tail of the build log).
  BuildArtifact build(const KernelSpec& spec);
  // The key without building (cheap: hashes inputs only).
  std::string cache_key(const KernelSpec& spec, const Workspace& ws) const;

 private:
  BuildArtifact build_locked(const KernelSpec& spec, const Workspace& ws, const std::vector<ConfigOption>& wanted,
                             BuildArtifact a, std::chrono::steady_clock::time_point t0);

  std::filesystem::path cache_;
  int jobs_;
  BuildLimits limits_;
};

// Deletes, under `build_dir`, every kbuild output newer than its .<name>.cmd
// record: kbuild writes the record after the output is complete, so such an
// output was cut off by a kill and would otherwise be trusted by the next
// incremental make. Returns how many were deleted.
int remove_interrupted_outputs(const std::filesystem::path& build_dir);

std::string compiler_version();

}  // namespace rb::kernel
