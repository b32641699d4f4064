#include "report/documents.h"

#include <climits>
#include <cmath>

#include "report/text.h"
#include "util/error.h"

namespace rb::report {

namespace {

using nlohmann::json;

// Finite numbers as numbers; infinities and NaN as null (unbounded / undefined).
json num(double x) { return std::isfinite(x) ? json(x) : json(nullptr); }

// Every string as valid UTF-8: labels and console text may carry any bytes,
// and the JSON writer throws on an invalid sequence at dump time.
json str(const std::string& s) { return valid_utf8(s); }
json strs(const std::vector<std::string>& v) {
  json a = json::array();
  for (const auto& s : v) a.push_back(str(s));
  return a;
}

json interval_json(double rate, const stats::Interval& ci, const char* method) {
  return {{"rate", num(rate)}, {"ci_low", num(ci.low)}, {"ci_high", num(ci.high)}, {"method", method}};
}

json boot_json(const record::BootSummary& b) {
  return {{"index", b.index},         {"outcome", str(b.outcome)},     {"trials", b.trials},
          {"failures", b.failures},   {"exposure_s", b.exposure_s}, {"console_log", str(b.console_log)},
          {"detail", str(b.detail)},       {"oops_excerpt", str(b.oops_excerpt)}};
}

json cell_json(const record::CellResult& c, double confidence) {
  const CellStats s = cell_stats(c, confidence);
  json j = {{"cell", str(c.cell)},
            {"kernel_label", str(c.kernel_label)},
            {"variant", str(c.variant)},
            {"kernel",
             {{"source", str(c.kernel.source)},
              {"patches", strs(c.kernel.patches)},
              {"config_sha256", str(c.kernel.config_sha256)},
              {"bzimage_sha256", str(c.kernel.bzimage_sha256)}}},
            {"boots", c.boots},
            {"trials", c.trials},
            {"failures", c.failures},
            {"infra_errors", c.infra_errors},
            {"crashes", c.crashes},
            {"boot_failures", c.boot_failures},
            {"hangs", c.hangs},
            {"exposure_s", c.exposure_s},
            {"seconds", c.seconds},
            {"build_error", str(c.build_error)},
            {"per_trial", interval_json(s.proportion, s.proportion_ci, "wilson")},
            {"per_second", interval_json(s.rate.rate, s.rate.ci, "garwood")},
            {"boot_list", json::array()}};
  for (const auto& b : c.boot_list) j["boot_list"].push_back(boot_json(b));
  return j;
}

json trend_test_json(const stats::TrendTest& t, const char* method) {
  return {{"method", method}, {"statistic", t.statistic}, {"z", t.z}, {"p_value", t.p_value}};
}

// ---- strict reading ----

[[noreturn]] void bad(const std::string& source, const std::string& path, const std::string& what) {
  throw usage_error(source + ": " + path + ": " + what);
}

struct Reader {
  const std::string& source;

  const json& member(const json& obj, const std::string& path, const char* key) const {
    if (!obj.is_object()) bad(source, path, "expected an object");
    auto it = obj.find(key);
    if (it == obj.end()) bad(source, join(path, key), "missing");
    return *it;
  }
  static std::string join(const std::string& path, const char* key) { return path.empty() ? key : path + "." + key; }

  int count(const json& obj, const std::string& path, const char* key, bool required = true) const {
    if (!required && (!obj.is_object() || !obj.contains(key))) return 0;
    const json& v = member(obj, path, key);
    if (!v.is_number_integer() || v.get<long long>() < 0 || v.get<long long>() > INT_MAX)
      bad(source, join(path, key), "expected an integer >= 0");
    return v.get<int>();
  }
  double seconds(const json& obj, const std::string& path, const char* key, bool required = true) const {
    if (!required && (!obj.is_object() || !obj.contains(key) || obj[key].is_null())) return 0;
    const json& v = member(obj, path, key);
    if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < 0)
      bad(source, join(path, key), "expected a finite number >= 0");
    return v.get<double>();
  }
  std::string text(const json& obj, const std::string& path, const char* key, bool required = true) const {
    if (!required && (!obj.is_object() || !obj.contains(key) || obj[key].is_null())) return "";
    const json& v = member(obj, path, key);
    if (!v.is_string()) bad(source, join(path, key), "expected a string");
    return v.get<std::string>();
  }
  const json& array(const json& obj, const std::string& path, const char* key) const {
    const json& v = member(obj, path, key);
    if (!v.is_array()) bad(source, join(path, key), "expected an array");
    return v;
  }
};

void check_counts(const Reader& r, const record::CellResult& c, const std::string& path) {
  if (c.failures > c.trials) bad(r.source, path, "more failures than trials");
}

record::CellResult cell_from_night(const Reader& r, const json& j, const std::string& path) {
  record::CellResult c;
  c.cell = r.text(j, path, "cell");
  if (c.cell.empty()) bad(r.source, path + ".cell", "empty cell name");
  c.kernel_label = r.text(j, path, "kernel_label", false);
  c.variant = r.text(j, path, "variant", false);
  if (j.contains("kernel")) {
    const json& k = r.member(j, path, "kernel");
    const std::string kp = path + ".kernel";
    c.kernel.source = r.text(k, kp, "source", false);
    c.kernel.config_sha256 = r.text(k, kp, "config_sha256", false);
    c.kernel.bzimage_sha256 = r.text(k, kp, "bzimage_sha256", false);
    if (k.contains("patches")) {
      const json& ps = r.array(k, kp, "patches");
      for (size_t i = 0; i < ps.size(); ++i) {
        if (!ps[i].is_string()) bad(r.source, kp + ".patches[" + std::to_string(i) + "]", "expected a string");
        c.kernel.patches.push_back(ps[i].get<std::string>());
      }
    }
  }
  c.boots = r.count(j, path, "boots", false);
  c.trials = r.count(j, path, "trials");
  c.failures = r.count(j, path, "failures");
  c.infra_errors = r.count(j, path, "infra_errors", false);
  c.crashes = r.count(j, path, "crashes", false);
  c.boot_failures = r.count(j, path, "boot_failures", false);
  c.hangs = r.count(j, path, "hangs", false);
  c.exposure_s = r.seconds(j, path, "exposure_s", false);
  c.seconds = r.seconds(j, path, "seconds", false);
  c.build_error = r.text(j, path, "build_error", false);
  if (j.contains("boot_list")) {
    const json& bl = r.array(j, path, "boot_list");
    for (size_t i = 0; i < bl.size(); ++i) {
      const std::string bp = path + ".boot_list[" + std::to_string(i) + "]";
      record::BootSummary b;
      b.index = r.count(bl[i], bp, "index");
      b.outcome = r.text(bl[i], bp, "outcome");
      b.trials = r.count(bl[i], bp, "trials", false);
      b.failures = r.count(bl[i], bp, "failures", false);
      b.exposure_s = r.seconds(bl[i], bp, "exposure_s", false);
      b.console_log = r.text(bl[i], bp, "console_log", false);
      b.detail = r.text(bl[i], bp, "detail", false);
      b.oops_excerpt = r.text(bl[i], bp, "oops_excerpt", false);
      c.boot_list.push_back(b);
    }
  }
  check_counts(r, c, path);
  return c;
}

record::Night from_night(const Reader& r, const json& j) {
  record::Night n;
  if (j.contains("id")) n.id = r.count(j, "", "id");
  n.started_at = r.text(j, "", "started_at", false);
  n.host = r.text(j, "", "host", false);
  n.qemu_version = r.text(j, "", "qemu_version", false);
  n.accelerator = r.text(j, "", "accelerator", false);
  n.matrix = r.text(j, "", "matrix", false);
  n.seconds = r.seconds(j, "", "seconds", false);
  const json& cells = r.array(j, "", "cells");
  for (size_t i = 0; i < cells.size(); ++i) n.cells.push_back(cell_from_night(r, cells[i], "cells[" + std::to_string(i) + "]"));
  return n;
}

// A reproduce kernel: its boots' trials give the racing time (schema 1 has
// no "exposure" object; schema 2 has one and it wins).
record::CellResult cell_from_kernel(const Reader& r, const json& k, const std::string& path) {
  record::CellResult c;
  c.cell = c.kernel_label = r.text(k, path, "label");
  if (c.cell.empty()) bad(r.source, path + ".label", "empty kernel label");
  c.trials = r.count(k, path, "trials");
  c.failures = r.count(k, path, "failures");
  c.infra_errors = r.count(k, path, "infra_errors", false);
  c.crashes = r.count(k, path, "crashes", false);
  c.boot_failures = r.count(k, path, "boot_failures", false);
  c.hangs = r.count(k, path, "hangs", false);
  if (k.contains("build")) {
    const json& b = r.member(k, path, "build");
    c.kernel.source = r.text(b, path + ".build", "source", false);
    c.kernel.bzimage_sha256 = r.text(b, path + ".build", "bzimage_sha256", false);
    c.build_error = r.text(b, path + ".build", "error", false);
  }
  if (k.contains("args") && k["args"].is_object() && k["args"].contains("variant") && k["args"]["variant"].is_string())
    c.variant = k["args"]["variant"].get<std::string>();
  double exposure = 0;
  if (k.contains("boots")) {
    const json& boots = r.array(k, path, "boots");
    for (size_t i = 0; i < boots.size(); ++i) {
      const std::string bp = path + ".boots[" + std::to_string(i) + "]";
      record::BootSummary b;
      b.index = r.count(boots[i], bp, "index");
      b.outcome = r.text(boots[i], bp, "outcome");
      b.console_log = r.text(boots[i], bp, "console_log", false);
      b.detail = r.text(boots[i], bp, "detail", false);
      const json empty = json::array();
      const json& trials = boots[i].contains("trials") ? r.array(boots[i], bp, "trials") : empty;
      for (size_t t = 0; t < trials.size(); ++t) {
        const std::string tp = bp + ".trials[" + std::to_string(t) + "]";
        record::TrialRecord tr;
        const std::string outcome = r.text(trials[t], tp, "outcome");
        tr.outcome = outcome == "pass" ? record::Outcome::Pass : outcome == "fail" ? record::Outcome::Fail : record::Outcome::Infra;
        tr.ms = static_cast<long>(r.seconds(trials[t], tp, "ms", false));
        tr.first_bogus_ms = trials[t].contains("first_bogus_ms") && trials[t]["first_bogus_ms"].is_number_integer()
                                ? trials[t]["first_bogus_ms"].get<long>()
                                : -1;
        if (auto e = stats::trial_exposure(tr)) {
          ++b.trials;
          b.failures += e->failed;
          b.exposure_s += e->seconds;
        }
      }
      exposure += b.exposure_s;
      c.boot_list.push_back(b);
    }
    c.boots = static_cast<int>(boots.size());
  }
  c.exposure_s = k.contains("exposure") ? r.seconds(r.member(k, path, "exposure"), path + ".exposure", "seconds") : exposure;
  check_counts(r, c, path);
  return c;
}

record::Night from_results(const Reader& r, const json& j) {
  record::Night n;
  n.matrix = r.text(j, "", "case", false);
  n.accelerator = r.text(j, "", "accelerator", false);
  n.seconds = r.seconds(j, "", "seconds", false);
  n.started_at = r.text(j, "", "started_at", false);
  const json& kernels = r.array(j, "", "kernels");
  for (size_t i = 0; i < kernels.size(); ++i)
    n.cells.push_back(cell_from_kernel(r, kernels[i], "kernels[" + std::to_string(i) + "]"));
  return n;
}

}  // namespace

json exposure_json(const stats::ExposureSummary& e, double confidence) {
  return {{"seconds", e.seconds},
          {"failures", e.failures},
          {"trials", e.trials},
          {"imputed", e.imputed},
          {"rate_per_s", e.rate.rate},
          {"ci_low", num(e.rate.ci.low)},
          {"ci_high", num(e.rate.ci.high)},
          {"confidence", confidence},
          {"method", "garwood"},
          {"overdispersed", e.dispersion.overdispersed},
          {"dispersion_p", e.dispersion.p_value}};
}

json stopping_json(const stats::StopDecision& d, const stats::SequentialParams& p) {
  return {{"method", "confidence-sequence"},
          {"state", stats::to_string(d.state)},
          {"finding", stats::to_string(d.finding)},
          {"trials", d.trials},
          {"failures", d.failures},
          {"exposure_s", d.exposure_s},
          {"lower", num(d.lower)},
          {"upper", num(d.upper)},
          {"fixed_target", num(d.fixed_target)},
          {"alpha", p.alpha},
          {"fraction", p.fraction},
          {"rel_precision", p.rel_precision},
          {"max_exposure_s", p.max_exposure_s},
          {"max_trials", p.max_trials}};
}

json night_json(const record::Night& n, double confidence) {
  json j = {{"schema", kNightSchema},     {"id", n.id},
            {"started_at", str(n.started_at)}, {"host", str(n.host)},
            {"qemu_version", str(n.qemu_version)}, {"accelerator", str(n.accelerator)},
            {"matrix", str(n.matrix)},         {"seconds", n.seconds},
            {"confidence", confidence},   {"cells", json::array()}};
  for (const auto& c : n.cells) j["cells"].push_back(cell_json(c, confidence));
  return j;
}

json comparison_json(const Comparison& c) {
  json j = {{"schema", kCompareSchema},
            {"baseline", str(c.baseline_label)},
            {"current", str(c.current_label)},
            {"alpha", c.params.alpha},
            {"min_difference", c.params.min_difference},
            {"min_rate_difference", c.params.min_rate_difference},
            {"min_ratio", c.params.min_ratio},
            {"exit_code", c.exit_code()},
            {"counts",
             {{"regression", c.count(CellVerdict::Regression)},
              {"improvement", c.count(CellVerdict::Improvement)},
              {"no_change", c.count(CellVerdict::NoChange)},
              {"inconclusive", c.count(CellVerdict::Inconclusive)},
              {"infrastructure_error", c.count(CellVerdict::Infrastructure)},
              {"missing", c.count(CellVerdict::Missing)}}},
            {"cells", json::array()}};
  for (const auto& x : c.cells) {
    json cell = {{"cell", str(x.cell)},
                 {"verdict", to_string(x.verdict)},
                 {"reason", str(x.reason)},
                 {"measure", to_string(x.measure)},
                 {"p_value", x.p_value},
                 {"adjusted_p", x.adjusted_p},
                 {"difference", num(x.difference)},
                 {"difference_ci", {num(x.difference_ci.low), num(x.difference_ci.high)}},
                 {"ratio", num(x.ratio)},
                 {"ratio_ci", {num(x.ratio_ci.low), num(x.ratio_ci.high)}},
                 {"identity_changes", strs(x.identity_changes)},
                 {"baseline", x.a ? cell_json(*x.a, 1 - c.params.alpha) : json(nullptr)},
                 {"current", x.b ? cell_json(*x.b, 1 - c.params.alpha) : json(nullptr)}};
    j["cells"].push_back(cell);
  }
  return j;
}

json history_json(const std::vector<record::Night>& nights, const std::vector<CellTrend>& trends) {
  json j = {{"schema", kHistorySchema}, {"nights", json::array()}, {"cells", json::array()}};
  for (const auto& n : nights)
    j["nights"].push_back({{"id", n.id},
                           {"started_at", str(n.started_at)},
                           {"host", str(n.host)},
                           {"qemu_version", str(n.qemu_version)},
                           {"accelerator", str(n.accelerator)},
                           {"matrix", str(n.matrix)},
                           {"seconds", n.seconds},
                           {"cells", n.cells.size()}});
  for (const auto& t : trends) {
    json points = json::array();
    for (const auto& p : t.points)
      points.push_back({{"night", p.night_id},
                        {"started_at", str(p.started_at)},
                        {"trials", p.stats.trials},
                        {"failures", p.stats.failures},
                        {"exposure_s", p.stats.rate.exposure_s},
                        {"per_trial", interval_json(p.stats.proportion, p.stats.proportion_ci, "wilson")},
                        {"per_second", interval_json(p.stats.rate.rate, p.stats.rate.ci, "garwood")},
                        {"bzimage_sha256", str(p.bzimage_sha256)}});
    j["cells"].push_back({{"cell", str(t.cell)},
                          {"points", points},
                          {"trend_per_trial", trend_test_json(t.per_trial, "cochran-armitage")},
                          {"trend_per_second", trend_test_json(t.exposure, "poisson-score")}});
  }
  return j;
}

record::Night run_from_json(const json& j, const std::string& source) {
  const Reader r{source};
  if (!j.is_object()) bad(source, "(top level)", "expected an object");
  const std::string schema = j.contains("schema") && j["schema"].is_string() ? j["schema"].get<std::string>() : "";
  if (schema == kNightSchema) return from_night(r, j);
  if (schema == kResultsSchema || (schema.empty() && j.contains("kernels"))) return from_results(r, j);
  if (!schema.empty()) bad(source, "schema", "'" + schema + "' is not a run document this racebisect reads (" +
                                               kNightSchema + ", " + kResultsSchema + ")");
  bad(source, "(top level)", "neither a night document nor a reproduce results.json");
}

}  // namespace rb::report
