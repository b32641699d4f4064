#include "report/html.h"

#include <fmt/format.h>

#include <map>

#include "report/junit.h"
#include "report/svg.h"
#include "report/text.h"

namespace rb::report {

namespace {

// Styling: readable in a CI artifact viewer, printable, no external font.
constexpr const char* kStyle = R"(
:root{--red:#c62828;--green:#2e7d32;--grey:#546e7a;--amber:#b26a00;--purple:#6a1b9a;--ink:#1f2933;--muted:#66737f;--line:#d9dee3}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--ink);background:#f4f6f8}
header{padding:18px 28px;color:#fff}
header.red{background:var(--red)}header.green{background:var(--green)}header.purple{background:var(--purple)}header.blue{background:#1e5a8a}
header h1{margin:0;font-size:22px;font-weight:650}
header .status{font-size:28px;font-weight:750;margin:4px 0 2px}
header .meta{opacity:.92;font-size:13px}
main{padding:18px 28px;max-width:1280px}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:14px 18px;margin:0 0 18px}
h2{font-size:16px;margin:0 0 10px}
.pills span{display:inline-block;margin:0 8px 6px 0;padding:3px 10px;border-radius:12px;font-weight:600;font-size:13px;color:#fff}
table{border-collapse:collapse;width:100%}
th{text-align:left;font-size:12px;text-transform:uppercase;letter-spacing:.03em;color:var(--muted);border-bottom:2px solid var(--line);padding:6px 8px}
td{border-bottom:1px solid var(--line);padding:7px 8px;vertical-align:top}
tr:has(+ tr.why) td{border-bottom:none;padding-bottom:2px}
tr.why td{color:var(--muted);font-size:12px;padding-top:0}
td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
td.name{max-width:250px;overflow-wrap:anywhere}
.sub{color:var(--muted);font-size:12px}
.badge{display:inline-block;padding:2px 9px;border-radius:10px;color:#fff;font-weight:650;font-size:12px;white-space:nowrap}
.v-regression{background:var(--red)}.v-improvement{background:var(--green)}.v-nochange{background:var(--grey)}
.v-inconclusive{background:var(--amber)}.v-infra{background:var(--purple)}.v-missing,.v-none{background:#8a969f}
tr.row-regression td{background:#fdecea}tr.row-regression.why td{color:#8e1b1b}
.changed{color:var(--purple);font-weight:600;font-size:12px}
svg.chart{max-width:100%;height:auto}svg .grid{stroke:#e3e7eb;stroke-width:1}svg .band{fill:#f7f9fa}
svg .tick{fill:var(--muted);font-size:11px}svg .axis-title,svg .trend-title{fill:var(--ink);font-size:12px;font-weight:600}
svg .row-label{fill:var(--ink);font-size:12px}
svg .ci{stroke:currentColor;stroke-width:2.2}svg .ci-arrow{fill:currentColor}
svg .dot{fill:currentColor}svg .dot.zero{fill:#fff;stroke:currentColor;stroke-width:2}
svg .mark{color:var(--grey)}svg .mark.baseline{color:#a7b1b9}
svg .mark.regression{color:var(--red)}svg .mark.improvement{color:var(--green)}svg .mark.inconclusive{color:var(--amber)}
svg .mark.infra{color:var(--purple)}svg .trend-line{fill:none;stroke:#90a4ae;stroke-width:1.2}
.trends{display:flex;flex-wrap:wrap;gap:10px}.trends figure{margin:0;border:1px solid var(--line);border-radius:6px;padding:4px}
.trends figcaption{font-size:12px;color:var(--muted);padding:0 4px 2px}
.legend span{margin-right:14px;font-size:12px}.legend i{display:inline-block;width:10px;height:10px;border-radius:5px;margin-right:4px;vertical-align:-1px}
details{border-top:1px solid var(--line);padding:6px 0}summary{cursor:pointer;font-weight:600}
pre{background:#101820;color:#e6edf3;padding:10px;border-radius:6px;overflow:auto;font-size:12px;max-height:300px}
footer{color:var(--muted);font-size:12px;padding:0 28px 24px;max-width:1280px}
)";

const char* verdict_class(CellVerdict v) {
  switch (v) {
    case CellVerdict::Regression: return "regression";
    case CellVerdict::Improvement: return "improvement";
    case CellVerdict::NoChange: return "nochange";
    case CellVerdict::Inconclusive: return "inconclusive";
    case CellVerdict::Infrastructure: return "infra";
    case CellVerdict::Missing: return "missing";
  }
  return "none";
}

std::string badge(const std::string& cls, const std::string& text) {
  return fmt::format("<span class=\"badge v-{}\">{}</span>", cls, escape_html(text));
}

std::string interval_text(double lo, double hi, std::string (*fmt_fn)(double)) {
  return fmt::format("[{}, {}]", fmt_fn(lo), fmt_fn(hi));
}
std::string pct1(double x) { return percent(x); }

std::string per_trial_cell(const CellStats& s) {
  if (s.trials == 0) return "<td class=\"num\">&ndash;</td>";
  return fmt::format("<td class=\"num\">{}/{} &nbsp;<b>{}</b><div class=\"sub\">{}</div></td>", s.failures, s.trials,
                     percent(s.proportion), interval_text(s.proportion_ci.low, s.proportion_ci.high, pct1));
}

std::string per_second_cell(const CellStats& s) {
  if (s.rate.exposure_s <= 0) return "<td class=\"num\">&ndash;</td>";
  return fmt::format("<td class=\"num\"><b>{}</b><div class=\"sub\">{} &middot; {} in {:.1f} s</div></td>",
                     rate_per_s(s.rate.rate), interval_text(s.rate.ci.low, s.rate.ci.high, rate_per_s), s.rate.failures,
                     s.rate.exposure_s);
}

std::string change_cell(const CellComparison& c) {
  if (c.verdict == CellVerdict::Missing || c.verdict == CellVerdict::Infrastructure)
    return "<td class=\"num\">&ndash;</td><td class=\"num\">&ndash;</td>";
  std::string change;
  if (c.measure == Measure::Exposure)
    change = fmt::format("{}<div class=\"sub\">[{}, {}]</div>",
                         std::isfinite(c.ratio) ? fmt::format("&times;{:.3g}", c.ratio)
                                                : std::string(std::isnan(c.ratio) ? "&ndash;" : "&times;&infin;"),
                         fmt::format("{:.3g}", c.ratio_ci.low),
                         std::isfinite(c.ratio_ci.high) ? fmt::format("{:.3g}", c.ratio_ci.high) : std::string("&infin;"));
  else
    change = fmt::format("{:+.1f} pts<div class=\"sub\">[{:+.1f}, {:+.1f}]</div>", 100 * c.difference,
                         100 * c.difference_ci.low, 100 * c.difference_ci.high);
  return fmt::format("<td class=\"num\">{}</td><td class=\"num\">{}<div class=\"sub\">raw {}</div></td>", change,
                     p_value(c.adjusted_p), p_value(c.p_value));
}

std::string header(const HtmlPage& p) {
  const auto& n = *p.night;
  std::string cls = "blue", status;
  if (p.comparison) {
    const int reg = p.comparison->count(CellVerdict::Regression), infra = p.comparison->count(CellVerdict::Infrastructure);
    if (reg) cls = "red", status = fmt::format("REGRESSION in {} cell{}", reg, reg > 1 ? "s" : "");
    else if (infra) cls = "purple", status = fmt::format("Infrastructure errors in {} cell{}", infra, infra > 1 ? "s" : "");
    else cls = "green", status = "No regression";
  } else {
    int failing = 0;
    for (const auto& c : n.cells) failing += c.failures > 0;
    status = fmt::format("{} cells, {} with failures", n.cells.size(), failing);
  }
  std::string meta = fmt::format("{} &middot; host {} &middot; QEMU {} &middot; {} &middot; {:.0f} s", escape_html(n.started_at),
                                 escape_html(n.host), escape_html(n.qemu_version), escape_html(n.accelerator), n.seconds);
  if (p.comparison)
    meta += fmt::format("<br>compared with {} (Holm-corrected, family-wise &alpha; = {:g})",
                        escape_html(p.comparison->baseline_label), p.comparison->params.alpha);
  return fmt::format("<header class=\"{}\" id=\"status\" data-status=\"{}\"><h1>{} &mdash; {}</h1><div class=\"status\">{}</div>"
                     "<div class=\"meta\">{}</div></header>",
                     cls, cls, escape_html(p.title), escape_html(n.matrix), escape_html(status), meta);
}

std::string pills(const Comparison& c) {
  std::string out = "<div class=\"pills\">";
  for (auto v : {CellVerdict::Regression, CellVerdict::Improvement, CellVerdict::NoChange, CellVerdict::Inconclusive,
                 CellVerdict::Infrastructure, CellVerdict::Missing})
    if (int k = c.count(v)) out += fmt::format("<span class=\"v-{}\">{} {}</span>", verdict_class(v), k, to_string(v));
  return out + "</div>";
}

std::string cell_row(const record::CellResult* cell, const CellComparison* c, size_t index) {
  const CellStats s = cell ? cell_stats(*cell) : CellStats{};
  const std::string cls = c ? verdict_class(c->verdict) : (s.runnable ? "none" : "infra");
  const std::string name = cell ? cell->cell : c->cell;
  std::string row = fmt::format(
      "<tr id=\"cell-{}\" class=\"row-{}\" data-cell=\"{}\" data-trials=\"{}\" data-failures=\"{}\" "
      "data-exposure=\"{:.17g}\" data-verdict=\"{}\">",
      index, cls, escape_html(name), s.trials, s.failures, s.rate.exposure_s,
      c ? to_string(c->verdict) : (s.runnable ? "no baseline" : "infrastructure error"));
  row += fmt::format("<td class=\"name\"><b>{}</b>", escape_html(name));
  if (cell) row += fmt::format("<div class=\"sub\">kernel {} &middot; variant {}</div>", escape_html(cell->kernel_label), escape_html(cell->variant));
  if (c && !c->identity_changes.empty()) {
    std::string what;
    for (const auto& w : c->identity_changes) what += (what.empty() ? "" : ", ") + w;
    row += fmt::format("<div class=\"changed\">kernel changed: {}</div>", escape_html(what));
  }
  row += "</td><td>" + badge(cls, c ? to_string(c->verdict) : (s.runnable ? "no baseline" : "infrastructure error")) + "</td>";
  row += per_trial_cell(s) + per_second_cell(s);
  if (c) row += per_second_cell(c->sa) + change_cell(*c);
  row += "</tr>";
  // Why, in words, on its own full-width line: long, and it is what a
  // person reads first once the colour caught their eye.
  std::string why = c ? c->reason : (cell && !cell->build_error.empty() ? "build failed: " + cell->build_error : "");
  if (!why.empty())
    row += fmt::format("<tr class=\"why row-{}\"><td></td><td colspan=\"{}\">{}</td></tr>", cls, c ? 6 : 3,
                       escape_html(why));
  return row;
}

std::string cells_table(const HtmlPage& p) {
  std::map<std::string, const CellComparison*> by_cell;
  if (p.comparison)
    for (const auto& c : p.comparison->cells) by_cell[c.cell] = &c;
  std::string out = "<section id=\"cells\"><h2>Cells</h2>";
  if (p.comparison) out += pills(*p.comparison);
  out += "<table><thead><tr><th>Cell</th><th>Verdict</th><th>Failed trials</th><th>Failures / racing-s</th>";
  if (p.comparison) out += "<th>Baseline</th><th>Change</th><th>p (Holm)</th>";
  out += "</tr></thead><tbody>";
  size_t i = 0;
  for (const auto& c : p.night->cells) {
    auto it = by_cell.find(c.cell);
    out += cell_row(&c, it == by_cell.end() ? nullptr : it->second, i++);
  }
  if (p.comparison)
    for (const auto& c : p.comparison->cells)
      if (!c.b) out += cell_row(nullptr, &c, i++);
  return out + "</tbody></table></section>";
}

IntervalMark mark(const CellStats& s, const std::string& cls, const std::string& who) {
  return {s.rate.rate, s.rate.ci.low, s.rate.ci.high, cls,
          fmt::format("{}: {} [{}, {}], {} failures in {:.1f} racing-s", who, rate_per_s(s.rate.rate),
                      rate_per_s(s.rate.ci.low), rate_per_s(s.rate.ci.high), s.rate.failures, s.rate.exposure_s)};
}

IntervalMark fraction_mark(const CellStats& s, const std::string& cls, const std::string& who) {
  return {s.proportion, s.proportion_ci.low, s.proportion_ci.high, cls,
          fmt::format("{}: {}/{} trials failed, {} [{}, {}]", who, s.failures, s.trials, percent(s.proportion),
                      percent(s.proportion_ci.low), percent(s.proportion_ci.high))};
}

// The chart shows what the verdicts compared: failed trials (the default)
// or, after `--measure per-second`, failures per racing-second.
std::string failure_chart(const HtmlPage& p) {
  std::map<std::string, const CellComparison*> by_cell;
  bool per_second = false;
  if (p.comparison)
    for (const auto& c : p.comparison->cells) by_cell[c.cell] = &c, per_second |= c.measure == Measure::Exposure;
  auto has_data = [&](const CellStats& s) { return per_second ? s.rate.exposure_s > 0 : s.trials > 0; };
  auto make_mark = [&](const CellStats& s, const std::string& cls, const std::string& who) {
    return per_second ? mark(s, cls, who) : fraction_mark(s, cls, who);
  };
  std::vector<IntervalRow> rows;
  for (const auto& cell : p.night->cells) {
    const CellStats s = cell_stats(cell);
    if (!has_data(s)) continue;
    IntervalRow r{cell.cell, {}};
    auto it = by_cell.find(cell.cell);
    if (it != by_cell.end() && it->second->a && has_data(it->second->sa))
      r.marks.push_back(make_mark(it->second->sa, "baseline", "baseline"));
    r.marks.push_back(make_mark(s, std::string("current ") + (it != by_cell.end() ? verdict_class(it->second->verdict) : "none"),
                                "this night"));
    rows.push_back(std::move(r));
  }
  if (rows.empty()) return "";
  std::string out = per_second ? "<section id=\"rates\"><h2>Failures per racing-second, 95% intervals</h2>"
                               : "<section id=\"rates\"><h2>Failed trials, 95% intervals</h2>";
  out += "<div class=\"legend\"><span><i style=\"background:#a7b1b9\"></i>baseline</span>"
         "<span><i style=\"background:#546e7a\"></i>this night (colour = verdict)</span>"
         "<span>open circle: no failure (drawn at the axis floor), arrow: unbounded</span></div>";
  if (per_second)
    return out + interval_chart(rows, "failures per racing-second (log scale)", "rates per cell") + "</section>";
  return out + interval_chart(rows, "trials that failed (Wilson interval)", "failed trials per cell", Axis::Fraction) +
         "</section>";
}

std::string trends_section(const HtmlPage& p) {
  std::vector<double> values;
  for (const auto& t : p.trends)
    for (const auto& pt : t.points) values.insert(values.end(), {pt.stats.rate.rate, pt.stats.rate.ci.low, pt.stats.rate.ci.high});
  const auto [lo, hi] = log_axis_bounds(values);
  std::string charts;
  for (const auto& t : p.trends) {
    std::vector<NightMark> marks;
    for (const auto& pt : t.points)
      if (pt.stats.rate.exposure_s > 0)
        marks.push_back({pt.started_at.substr(0, 10), mark(pt.stats, "current", pt.started_at)});
    if (marks.size() < 2) continue;
    charts += fmt::format("<figure>{}<figcaption>trend z = {:+.2f}, p = {}</figcaption></figure>",
                          trend_chart(t.cell, marks, lo, hi), t.exposure.z, p_value(t.exposure.p_value));
  }
  if (charts.empty()) return "";
  return "<section id=\"trends\"><h2>Over nights (failures per racing-second, log scale)</h2><div class=\"trends\">" +
         charts + "</div></section>";
}

// Open by default only where a person has to look: a regressed cell, or a
// boot that crashed or hung; the rest (a racing kernel failing as expected)
// stays folded.
std::string boots_section(const record::Night& n, const Comparison* cmp) {
  std::map<std::string, CellVerdict> verdicts;
  if (cmp)
    for (const auto& c : cmp->cells) verdicts[c.cell] = c.verdict;
  std::string out;
  for (const auto& c : n.cells) {
    std::string items;
    bool open = verdicts.count(c.cell) && verdicts[c.cell] == CellVerdict::Regression;
    for (const auto& b : c.boot_list) {
      const bool unusual = b.outcome != "pass" && b.outcome != "fail";
      if (b.failures == 0 && !unusual) continue;
      open = open || unusual || !b.oops_excerpt.empty();
      const std::string href = relative_href(b.console_log);
      const std::string log = href.empty() ? fmt::format("<code>{}</code>", escape_html(b.console_log))
                                           : fmt::format("<a href=\"{}\">console log</a>", href);
      items += fmt::format("<li>boot {} &middot; {} &middot; {} failure{} &middot; {}{}", b.index, escape_html(b.outcome),
                           b.failures, b.failures == 1 ? "" : "s", log,
                           b.detail.empty() ? "" : " &middot; " + escape_html(b.detail));
      if (!b.oops_excerpt.empty()) items += "<pre>" + escape_html(b.oops_excerpt, true) + "</pre>";
      items += "</li>";
    }
    if (!items.empty())
      out += fmt::format("<details{}><summary>{}</summary><ul>{}</ul></details>", open ? " open" : "", escape_html(c.cell),
                         items);
  }
  if (out.empty()) return "";
  return "<section id=\"boots\"><h2>Failing boots</h2>" + out + "</section>";
}

constexpr const char* kMethods =
    "<footer><p><b>How to read this.</b> A trial's time to its first failure is censored at the trial's end, so "
    "<i>failures per racing-second</i> is a Poisson rate with an exact (Garwood) interval; per-trial rates have "
    "Wilson intervals. Two runs are compared per cell by Boschloo's exact test on per-trial counts (or, when "
    "asked, an exact conditional test on the rate ratio), with Holm's correction across cells. <i>Regression</i>/<i>improvement</i>: "
    "significant after correction. <i>No change</i>: not significant and the interval of the change excludes a change "
    "of the stated minimal size. <i>Inconclusive</i>: too few trials to tell. Schema and definitions: "
    "docs/SCHEMA.md.</p></footer>";

}  // namespace

std::string html_report(const HtmlPage& p) {
  if (!p.night) return "";
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
      "img-src data:; base-uri 'none'; form-action 'none'\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  out += fmt::format("<meta name=\"generator\" content=\"{}\"><title>{} &mdash; {} &mdash; {}</title><style>{}</style></head><body>\n",
                     escape_html(p.generator), escape_html(p.title), escape_html(p.night->matrix),
                     escape_html(p.night->started_at), kStyle);
  out += header(p) + "\n<main>\n" + cells_table(p) + "\n" + failure_chart(p) + "\n" + trends_section(p) + "\n" +
         boots_section(*p.night, p.comparison) + "\n</main>\n" + kMethods + "\n</body></html>\n";
  return out;
}

}  // namespace rb::report
