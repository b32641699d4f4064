// A nightly matrix (kernels/nightly/*.toml): kernels x guest variants, each
// pair a cell. It names a case for the guest test and its defaults, so a
// matrix only says which kernels and which variants, and how many boots and
// trials every cell runs (one fixed design: nights stay comparable).
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "run/case.h"

namespace rb::run {

struct MatrixVariant {
  std::string name;
  Args args;  // on top of the case's guest args
};

struct MatrixCell {
  std::string name;     // "<kernel>/<variant>": how reports and the history name it
  std::string kernel, variant;
  KernelVariant run;    // what the campaign runs: label "<kernel>.<variant>" (a file name)
};

struct Matrix {
  std::filesystem::path file;
  std::string name;
  std::filesystem::path case_file;
  std::optional<int> boots, trials, duration_ms;
  std::vector<KernelVariant> kernels;  // label, source, patches (args unused)
  std::vector<MatrixVariant> variants;
  std::vector<MatrixCell> cells() const;  // kernels x variants, kernel-major
};

// Strict: unknown keys, wrong types, a kernel without label or source, a
// duplicate label and a missing patch or source are usage errors naming the
// file and line.
Matrix load_matrix(const std::filesystem::path& file);
std::filesystem::path default_matrix_path();

}  // namespace rb::run
