// A case: everything one race needs (guest test + arguments, fragments,
// patches, hugepages, vCPUs), loaded from a TOML file in kernels/cases/.
// The orchestrator only ever sees a Case, so a new race is a new file.
//
// The loader is strict: an unknown or mistyped key, a value of the wrong
// type or out of range, a bad name or label, or a duplicate label is refused
// with the file, line and column (rb::Error, Usage), never defaulted.
#pragma once
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace rb::run {

using Args = std::map<std::string, std::string>;

struct KernelVariant {
  std::string label;
  std::string role;  // "bug" (expected to fail), "fixed" (expected clean), or informational
  std::vector<std::filesystem::path> patches;
  Args args;         // overrides of the case's guest args for this kernel
  std::filesystem::path source;  // another kernel source for this kernel (nightly cells); empty: the run's
};

struct Case {
  std::filesystem::path file;
  std::string name, title, description;
  std::filesystem::path source;
  std::vector<std::filesystem::path> fragments;
  std::string guest_test;
  int trials = 4, duration_ms = 3000, hugepages = 64, vcpus = 2, memory_mb = 512, pages_needed = 0;
  Args args;
  std::vector<KernelVariant> kernels, extra_kernels;
};

// Applies "KEY=VALUE" command line flags (--arg) on top of `args`; each is
// checked as a guest argument (util/validate.h) and refused if bad.
void apply_arg_flags(Args& args, const std::vector<std::string>& flags);

// Throws rb::Error(Usage) naming the file (and line/column) and the bad key.
Case load_case(const std::filesystem::path& file);
// The same on text already read; `file` names it in messages and anchors
// relative paths (the case lives in kernels/cases/, paths are relative to kernels/).
Case load_case_text(std::string_view text, const std::filesystem::path& file);
// The default: the seed race, cases/uffd-hugetlb.toml in the data directory
// (see run/paths.h).
std::filesystem::path default_case_path();

}  // namespace rb::run
