// Kernel builds: KernelSpec -> verified .config -> bzImage, cached by content.
//
// Two caches, for two kinds of reuse:
//  * the artifact cache (cache/kernels/<key>/) is content-addressed: the key
//    hashes the source identity, every patch's bytes, every fragment's bytes,
//    the base config target and the compiler version, so an exact repeat is
//    served without touching the tree at all;
//  * the build directory (cache/build/<workspace>-<config>/) is persistent per
//    source tree and fragment set, so a different patch set or bisect step
//    only recompiles the files that changed (make O=..., plus ccache).
// The merged .config is a function of the key's inputs, so it is verified and
// stored with the artifact rather than being part of the key.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "kernel/source.h"

namespace rb::kernel {

struct KernelSpec {
  std::string label;                                // e.g. "unpatched"
  SourceSpec source;
  std::vector<std::filesystem::path> patches;       // applied in order
  std::vector<std::filesystem::path> fragments;     // merged in order onto `base`
  std::string base = "tinyconfig";                  // make target giving the base config
};

struct BuildArtifact {
  std::string key;
  std::filesystem::path dir;      // cache/kernels/<key>
  std::filesystem::path bzimage;
  std::filesystem::path config;   // merged, verified .config
  std::filesystem::path log;      // full build log
  std::string bzimage_sha256;
  std::string source_identity;
  bool cache_hit = false;
  double seconds = 0;             // wall time of this call
};

class Builder {
 public:
  explicit Builder(std::filesystem::path cache, int jobs = 0);
  // Throws rb::Error: Usage for bad input (missing source/patch/fragment,
  // patch that does not apply, option that cannot be set), Infrastructure for
  // a failed compile (message carries the tail of the build log).
  BuildArtifact build(const KernelSpec& spec);
  // The key without building (cheap: hashes inputs only).
  std::string cache_key(const KernelSpec& spec, const Workspace& ws) const;

 private:
  std::filesystem::path cache_;
  int jobs_;
};

std::string compiler_version();

}  // namespace rb::kernel
