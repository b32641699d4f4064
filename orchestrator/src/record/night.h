// What a nightly run records: one Night per run of the matrix, one
// CellResult per cell (kernel x guest variant). Plain data below store/ and
// report/, so the history keeps them without knowing how they were produced
// and the report writers render them without depending on run/.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace rb::record {

// Everything that makes two builds of "the same kernel" the same: when any
// of it differs between two nights, a comparison says so.
struct KernelIdentity {
  std::string source;                // "tarball:<sha256>" or "git:<commit>"
  std::vector<std::string> patches;  // "<file name>:<sha256>", in application order
  std::string config_sha256;         // of the merged, verified .config
  std::string bzimage_sha256;
  bool operator==(const KernelIdentity&) const = default;
};

// One boot of a cell, enough to link to its console and show why it failed.
struct BootSummary {
  int index = 0;
  std::string outcome;       // record::to_string(Outcome): pass, fail, crash, ...
  int trials = 0, failures = 0;
  double exposure_s = 0;     // racing seconds (stats/exposure.h)
  std::string console_log;   // path relative to the run directory
  std::string detail;        // crash title, init error, ...
  std::string oops_excerpt;  // a few console lines around an oops, untrusted text
};

struct CellResult {
  std::string cell;          // unique within a matrix, e.g. "6.1-reverted/missing"
  std::string kernel_label;  // e.g. "6.1-reverted"
  std::string variant;       // guest variant, e.g. "missing"
  KernelIdentity kernel;
  int boots = 0, trials = 0, failures = 0;  // trials: pass + fail only
  int infra_errors = 0, crashes = 0, boot_failures = 0, hangs = 0;
  double exposure_s = 0;     // racing seconds over all trials
  double seconds = 0;        // wall time the cell took (build and boots)
  std::string build_error;   // non-empty: the cell could not run (an infrastructure error)
  std::vector<BootSummary> boot_list;
};

struct Night {
  int64_t id = 0;            // assigned by the history; 0 before it is recorded
  std::string started_at;    // ISO 8601 UTC, "2026-11-25T02:00:00Z"
  std::string host, qemu_version, accelerator;
  std::string matrix;        // matrix name (file stem)
  double seconds = 0;        // wall time of the whole run
  std::vector<CellResult> cells;
};

}  // namespace rb::record
