#include "cli/nightly.h"

#include <iostream>

#include "nightly/nightly.h"
#include "report/bundle.h"
#include "report/documents.h"
#include "report/html.h"
#include "report/junit.h"
#include "report/nightly_text.h"
#include "util/error.h"
#include "util/fs.h"

namespace rb::cli {

namespace {

struct CompareFlags {
  report::CompareParams p;
  std::string measure = "per-trial";
};

void add_compare_flags(CLI::App* sub, CompareFlags& f) {
  sub->add_option("--alpha", f.p.alpha, "family-wise significance level, Holm across cells (default 0.05)");
  sub->add_option("--measure", f.measure, "per-trial (default: robust to host load) or per-second (Poisson on racing time)");
  sub->add_option("--min-difference", f.p.min_difference, "per-trial change that matters (default 0.3)");
  sub->add_option("--min-ratio", f.p.min_ratio, "rate ratio that matters (default 3)");
  sub->add_option("--min-rate-difference", f.p.min_rate_difference, "failures/s difference that matters (default 0.1)");
}

report::CompareParams compare_params(const CompareFlags& f) {
  report::CompareParams p = f.p;
  if (f.measure == "per-trial") p.measure = report::Measure::PerTrial;
  else if (f.measure == "per-second") p.measure = report::Measure::Exposure;
  else throw usage_error("--measure must be per-trial or per-second, got '" + f.measure + "'");
  report::validate(p);
  return p;
}

fs::path history_db(const std::string& flag) { return flag.empty() ? cache_root() / "history.db" : fs::path(flag); }

// ---- nightly ----

struct NightlyFlags {
  std::string matrix, db, baseline = "previous";
  bool pin = false;
  run::Overrides o;
  CompareFlags cmp;
};

int run_nightly(const NightlyFlags& f) {
  nightly::Config c;
  c.matrix = run::load_matrix(f.matrix.empty() ? run::default_matrix_path() : fs::path(f.matrix));
  run::Overrides o = f.o;
  o.case_file = c.matrix.case_file.string();
  for (const auto& cell : c.matrix.cells()) o.kernel_list.push_back(cell.run);
  o.boots = c.matrix.boots;
  o.trials = c.matrix.trials;
  o.duration_ms = c.matrix.duration_ms;
  o.design = "fixed";
  o.fixed_factor = 1;  // every cell runs the same design
  c.settings = run::resolve_settings(o, {});
  if (c.settings.out.empty()) c.settings.out = stamped_dir("racebisect-nightly", c.matrix.name);
  c.db = history_db(f.db);
  c.baseline = f.baseline;
  c.pin = f.pin;
  c.compare = compare_params(f.cmp);
  nightly::Result r;
  {
    auto meter = report::make_stderr_meter();
    r = nightly::run(c, [&](const run::CampaignEvent& e, const run::CampaignResult& now) {
      meter.update(report::campaign_progress(c.settings, e, now));
    });
  }
  std::cout << report::night_text(r.night);
  if (r.comparison) std::cout << report::comparison_text(*r.comparison);
  else if (!r.interrupted) std::cout << "no baseline night to compare with (first night of this matrix)\n";
  std::cout << "reports: " << c.settings.out.string() << " (night.json, compare.json, junit.xml, report.html)\n";
  return r.exit_code();
}

// ---- compare ----

struct CompareCmdFlags {
  std::string a, b, db, json, junit, html;
  CompareFlags cmp;
};

int run_compare(const CompareCmdFlags& f) {
  const report::CompareParams p = compare_params(f.cmp);
  for (const auto* out : {&f.json, &f.junit, &f.html})
    if (!out->empty() && fs::is_directory(*out)) throw usage_error("output path is a directory: " + *out);
  store::History h(history_db(f.db));
  const record::Night a = nightly::load_run(h, f.a);
  const record::Night b = nightly::load_run(h, f.b);
  report::Comparison c = report::compare_runs(a, b, p);
  c.baseline_label = a.id ? nightly::night_label(a) : f.a;
  c.current_label = b.id ? nightly::night_label(b) : f.b;
  std::cout << report::comparison_text(c);
  if (!f.json.empty()) write_file_atomic(f.json, report::dump_json(report::comparison_json(c)));
  if (!f.junit.empty()) write_file_atomic(f.junit, report::junit_xml(b, &c, "racebisect.compare"));
  if (!f.html.empty()) {
    report::HtmlPage page;
    page.night = &b;
    page.comparison = &c;
    write_file_atomic(f.html, report::html_report(page));
  }
  return c.exit_code();
}

// ---- history ----

struct HistoryFlags {
  std::string db, from, to, matrix, json, pin;
  std::vector<std::string> cells;
};

int run_history(const HistoryFlags& f) {
  store::check_date_filter(f.from, "--from");
  store::check_date_filter(f.to, "--to");
  store::History h(history_db(f.db));
  if (!f.pin.empty()) h.pin(h.resolve(f.pin));
  std::vector<store::NightInfo> infos;
  std::vector<record::Night> nights;
  for (const auto& info : h.nights(f.from, f.to)) {
    if (!f.matrix.empty() && info.matrix != f.matrix) continue;
    infos.push_back(info);
    if (auto n = h.night(info.id)) nights.push_back(std::move(*n));
  }
  auto trends = report::cell_trends(nights);
  if (!f.cells.empty())
    std::erase_if(trends, [&](const auto& t) { return std::find(f.cells.begin(), f.cells.end(), t.cell) == f.cells.end(); });
  std::cout << report::history_text(infos, trends);
  if (!f.json.empty()) write_file_atomic(f.json, report::dump_json(report::history_json(nights, trends)));
  return 0;
}

}  // namespace

std::vector<std::function<int()>> add_nightly(CLI::App& app) {
  auto nf = std::make_shared<NightlyFlags>();
  auto* n = app.add_subcommand("nightly", "Run a matrix of cells (kernel x guest variant) as one night, record it, "
                                          "compare with a baseline, write JSON/JUnit/HTML (exit 0 no regression, "
                                          "1 regression, 2 bad input, 3 infrastructure, 130 interrupted)");
  n->add_option("--matrix", nf->matrix, "matrix file (default kernels/nightly/default.toml)");
  n->add_option("--baseline", nf->baseline, "previous (default), pinned, latest or a night id");
  n->add_flag("--pin", nf->pin, "pin this night as the baseline afterwards");
  n->add_option("--db", nf->db, "history database (default <cache>/history.db)");
  n->add_option("--out", nf->o.out, "report directory (default racebisect-nightly/<time>-<matrix>)");
  n->add_option("--jobs,-j", nf->o.jobs, "parallel VMs (default: host cores / vCPUs; with --connect: VMs at once over all slots, default all)");
  n->add_option("--accel", nf->o.accel, "auto, kvm or tcg");
  n->add_option("--backend", nf->o.backend, "qemu or libvirt");
  n->add_option("--connect", nf->o.connect,
                  "URI[,slots=N]: run VMs on this libvirt host (repeat for a pool; --jobs caps the VMs at once; see docs/FLEET.md)");
  add_compare_flags(n, nf->cmp);

  auto cf = std::make_shared<CompareCmdFlags>();
  auto* c = app.add_subcommand("compare", "Compare two runs cell by cell: exact tests, effect intervals, Holm "
                                          "correction (exit 0 no regression, 1 regression, 2 bad input, 3 infra)");
  c->add_option("A", cf->a, "baseline: night id, previous, latest, pinned, or a night.json/results.json")->required();
  c->add_option("B", cf->b, "current: same forms")->required();
  c->add_option("--db", cf->db, "history database (default <cache>/history.db)");
  c->add_option("--json", cf->json, "write the comparison as JSON");
  c->add_option("--junit", cf->junit, "write JUnit XML");
  c->add_option("--html", cf->html, "write a self-contained HTML page");
  add_compare_flags(c, cf->cmp);

  auto hf = std::make_shared<HistoryFlags>();
  auto* h = app.add_subcommand("history", "List recorded nights and each cell's rate night by night, with a trend test");
  h->add_option("--db", hf->db, "history database (default <cache>/history.db)");
  h->add_option("--cell", hf->cells, "only these cells (e.g. 6.1/missing)");
  h->add_option("--from", hf->from, "from this date (ISO 8601 prefix, e.g. 2026-11)");
  h->add_option("--to", hf->to, "up to this date (a bare date includes the whole day)");
  h->add_option("--matrix", hf->matrix, "only nights of this matrix");
  h->add_option("--json", hf->json, "write the history as JSON");
  h->add_option("--pin", hf->pin, "pin this night (id or latest) as the baseline");

  return {[nf, n] { return n->parsed() ? run_nightly(*nf) : -1; },
          [cf, c] { return c->parsed() ? run_compare(*cf) : -1; },
          [hf, h] { return h->parsed() ? run_history(*hf) : -1; }};
}

}  // namespace rb::cli
