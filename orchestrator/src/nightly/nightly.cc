#include "nightly/nightly.h"

#include <unistd.h>

#include <ctime>
#include <fstream>

#include "console/console_report.h"
#include "report/bundle.h"
#include "report/documents.h"
#include "report/html.h"
#include "report/junit.h"
#include "report/summary.h"
#include "stats/exposure.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/process.h"

namespace rb::nightly {

namespace {

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::string host_name() {
  char buf[256] = {};
  return ::gethostname(buf, sizeof(buf) - 1) == 0 ? buf : "unknown";
}

std::string qemu_version() {
  try {
    const auto r = run_process({"qemu-system-x86_64", "--version"}, {}, std::chrono::seconds(20));
    return r.output.substr(0, r.output.find('\n'));
  } catch (const Error&) {
    return "unknown";
  }
}

// A few console lines from the first crash report on: what a maintainer
// reads first. Untrusted text; the writers escape it.
std::string oops_excerpt(const fs::path& console) {
  try {
    const auto rep = console::parse_console_file(console.string());
    if (rep.crashes.empty()) return {};
    std::ifstream in(console);
    std::string line, out;
    for (size_t n = 1; std::getline(in, line) && out.size() < 4000; ++n)
      if (n >= rep.crashes.front().line && n < rep.crashes.front().line + 24)
        out += console::sanitize_line(line) + "\n";
    return out;
  } catch (const std::exception&) {
    return {};
  }
}

record::KernelIdentity identity(const run::KernelRun& kr) {
  record::KernelIdentity id;
  id.source = kr.artifact.source_identity;
  for (const auto& p : kr.variant.patches) id.patches.push_back(p.filename().string() + ":" + sha256_file(p));
  if (!kr.artifact.config.empty() && fs::exists(kr.artifact.config)) id.config_sha256 = sha256_file(kr.artifact.config);
  id.bzimage_sha256 = kr.artifact.bzimage_sha256;
  return id;
}

record::BootSummary boot_summary(const record::BootRecord& b, const fs::path& run_dir) {
  record::BootSummary s;
  s.index = b.index;
  s.outcome = record::to_string(b.outcome);
  s.trials = b.passes() + b.fails();
  s.failures = b.fails();
  for (const auto& t : b.trials)
    if (auto e = stats::trial_exposure(t)) s.exposure_s += e->seconds;
  s.console_log = b.console_log.empty() ? "" : fs::relative(b.console_log, run_dir).string();
  s.detail = b.detail;
  if (b.outcome == record::Outcome::Crash || b.outcome == record::Outcome::BootFailure)
    s.oops_excerpt = oops_excerpt(b.console_log);
  return s;
}

record::CellResult cell_result(const run::MatrixCell& c, const run::KernelRun& kr, const fs::path& run_dir) {
  const report::KernelSummary k = report::summarize_kernel(kr, 0.95);
  record::CellResult r;
  r.cell = c.name;
  r.kernel_label = c.kernel;
  r.variant = c.variant;
  r.kernel = identity(kr);
  r.boots = k.boots;
  r.trials = k.trials;
  r.failures = k.failures;
  r.infra_errors = k.infra_errors;
  r.crashes = k.crashes;
  r.boot_failures = k.boot_failures;
  r.hangs = k.hangs;
  r.exposure_s = k.exposure.seconds;
  r.seconds = kr.artifact.seconds;
  r.build_error = kr.build_error;
  for (const auto& b : kr.boots) {
    r.seconds += b.seconds;
    r.boot_list.push_back(boot_summary(b, run_dir));
  }
  return r;
}

std::vector<record::Night> matrix_nights(store::History& h, const std::string& matrix) {
  std::vector<record::Night> out;
  for (const auto& info : h.nights())
    if (info.matrix == matrix)
      if (auto n = h.night(info.id)) out.push_back(std::move(*n));
  return out;
}

// The accelerator and the start of the probe's reason (the whole reason is
// in the log): "tcg: /dev/kvm exists but KVM cannot run a guest here".
std::string accel_phrase(vm::Accel a, const std::string& reason) {
  return std::string(vm::to_string(a)) + ": " + reason.substr(0, reason.find(" ("));
}

}  // namespace

std::string night_label(const record::Night& n) { return "night " + std::to_string(n.id) + " (" + n.started_at + ")"; }

int Result::exit_code() const {
  if (interrupted) return 130;
  if (comparison) return comparison->exit_code();
  for (const auto& c : night.cells)
    if (!c.build_error.empty() || c.trials == 0) return 3;
  return 0;
}

record::Night to_night(const run::Matrix& m, const run::Settings& s, const run::CampaignResult& r) {
  record::Night n;
  n.host = host_name();
  n.qemu_version = qemu_version();
  n.accelerator = accel_phrase(r.accel, r.accel_reason);
  n.matrix = m.name;
  n.seconds = r.seconds;
  const auto cells = m.cells();
  for (size_t i = 0; i < cells.size() && i < r.kernels.size(); ++i)
    n.cells.push_back(cell_result(cells[i], r.kernels[i], s.out));
  return n;
}

Result run(const Config& c, const run::CampaignObserver& on_change) {
  Result res;
  const std::string started = utc_now();
  store::History history(c.db);
  // A bad baseline reference is bad input: refuse it before the night runs.
  if (c.baseline != "previous") history.resolve(c.baseline);
  auto schedule = run::fixed_schedule(c.settings);
  const run::CampaignResult r = run::run_campaign(c.settings, schedule, on_change);
  res.night = to_night(c.matrix, c.settings, r);
  res.night.started_at = started;
  if (r.interrupted) {
    res.interrupted = true;
    return res;
  }
  res.night.id = history.record_night(res.night);
  res.baseline_id = c.baseline == "previous" ? history.previous(res.night.id) : history.resolve(c.baseline);
  if (res.baseline_id) {
    if (auto base = history.night(*res.baseline_id)) {
      res.comparison = report::compare_runs(*base, res.night, c.compare);
      res.comparison->baseline_label = night_label(*base);
      res.comparison->current_label = night_label(res.night);
    }
  }
  if (c.pin) history.pin(res.night.id);
  res.trends = report::cell_trends(matrix_nights(history, c.matrix.name));
  write_reports(c.settings.out, res);
  return res;
}

record::Night load_run(store::History& h, const std::string& ref) {
  if (fs::is_regular_file(ref)) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(read_file(ref));
    } catch (const nlohmann::json::exception& e) {
      throw usage_error(ref + ": not JSON: " + e.what());
    }
    return report::run_from_json(j, ref);
  }
  const int64_t id = h.resolve(ref);
  auto n = h.night(id);
  if (!n) throw usage_error("no recorded night " + ref);
  return *n;
}

void write_reports(const fs::path& dir, const Result& r) {
  fs::create_directories(dir);
  write_file_atomic(dir / "night.json", report::dump_json(report::night_json(r.night)));
  if (r.comparison) write_file_atomic(dir / "compare.json", report::dump_json(report::comparison_json(*r.comparison)));
  write_file_atomic(dir / "junit.xml",
                    report::junit_xml(r.night, r.comparison ? &*r.comparison : nullptr, "racebisect." + r.night.matrix));
  report::HtmlPage page;
  page.night = &r.night;
  page.comparison = r.comparison ? &*r.comparison : nullptr;
  page.trends = r.trends;
  write_file_atomic(dir / "report.html", report::html_report(page));
}

}  // namespace rb::nightly
