#include "report/junit.h"

#include <fmt/format.h>
#include <libxml/tree.h>

#include <map>
#include <memory>

#include "report/text.h"

namespace rb::report {

namespace {

struct DocFree {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
using Doc = std::unique_ptr<xmlDoc, DocFree>;

const xmlChar* x(const std::string& s) { return reinterpret_cast<const xmlChar*>(s.c_str()); }

// Every string reaches libxml2 sanitised: valid UTF-8 and no control
// characters it would have to write as forbidden character references.
void attr(xmlNode* n, const char* name, const std::string& value, bool multiline = false) {
  xmlNewProp(n, x(name), x(sanitize(value, multiline)));
}

xmlNode* child(xmlNode* parent, const char* name) { return xmlNewChild(parent, nullptr, x(name), nullptr); }

// xmlNewTextChild (unlike xmlNewChild) escapes its content.
xmlNode* text_child(xmlNode* parent, const char* name, const std::string& text) {
  return xmlNewTextChild(parent, nullptr, x(name), x(sanitize(text, true)));
}

std::string side(const char* which, const std::optional<record::CellResult>& c, const CellStats& s) {
  if (!c) return fmt::format("{}: not run", which);
  return fmt::format("{}: {}", which, cell_figures(s));
}

// The message a CI shows in one line: for a regression what changed, by
// how much and how sure; otherwise why the cell is not green.
std::string message(const CellComparison& c) {
  if (c.verdict != CellVerdict::Regression) return fmt::format("{}: {}: {}", to_string(c.verdict), c.cell, c.reason);
  return fmt::format("{}: {}; {}; {}; p = {}, Holm-adjusted p = {} ({})", to_string(c.verdict), c.cell,
                     side("baseline", c.a, c.sa), side("current", c.b, c.sb), p_value(c.p_value),
                     p_value(c.adjusted_p), to_string(c.measure));
}

std::string details(const CellComparison& c, const std::string& baseline, const std::string& current) {
  std::string d = fmt::format("{}\n{} ({})\n{} ({})\n", c.reason, side("baseline", c.a, c.sa), baseline,
                              side("current", c.b, c.sb), current);
  if (!c.identity_changes.empty()) {
    d += "kernel identity changed:";
    for (const auto& w : c.identity_changes) d += " " + w;
    d += "\n";
  }
  if (c.b)
    for (const auto& b : c.b->boot_list)
      if (b.failures > 0 || (b.outcome != "pass" && b.outcome != "fail"))
        d += fmt::format("boot {} {}: {}{}\n", b.index, b.outcome, b.console_log, b.detail.empty() ? "" : " " + b.detail);
  return d;
}

void add_case(xmlNode* suite, const std::string& classname, const record::CellResult* cell,
              const CellComparison* cmp, const std::string& baseline, const std::string& current, int counts[3]) {
  xmlNode* tc = child(suite, "testcase");
  attr(tc, "classname", classname);
  attr(tc, "name", cell ? cell->cell : cmp->cell);
  attr(tc, "time", fmt::format("{:.3f}", cell ? cell->seconds : 0.0));
  const CellStats s = cell ? cell_stats(*cell) : CellStats{};
  auto fail_node = [&](const char* kind, const char* type, const std::string& msg, const std::string& body) {
    xmlNode* f = text_child(tc, kind, body);
    attr(f, "message", msg);
    if (type) attr(f, "type", type);
  };
  // A cell new in this night has nothing to compare with: it stands alone.
  if (!cmp || (cmp->verdict == CellVerdict::Missing && cell)) {
    if (!s.runnable) {
      fail_node("error", "infrastructure",
                fmt::format("infrastructure error: {}: {}", cell->cell,
                            cell->build_error.empty() ? "no completed trial" : "build failed: " + cell->build_error),
                cell->build_error);
      ++counts[1];
    } else {
      text_child(tc, "system-out", cell_figures(s));
    }
    return;
  }
  switch (cmp->verdict) {
    case CellVerdict::Regression:
      fail_node("failure", "regression", message(*cmp), details(*cmp, baseline, current));
      ++counts[0];
      break;
    case CellVerdict::Infrastructure:
      fail_node("error", "infrastructure", message(*cmp), details(*cmp, baseline, current));
      ++counts[1];
      break;
    case CellVerdict::Inconclusive:
      fail_node("skipped", nullptr, message(*cmp), "");
      ++counts[2];
      break;
    case CellVerdict::Missing:
      fail_node("skipped", nullptr, fmt::format("{}: {}", cmp->cell, cmp->reason), "");
      ++counts[2];
      break;
    default:
      text_child(tc, "system-out", details(*cmp, baseline, current));
  }
}

}  // namespace

std::string cell_figures(const CellStats& s) {
  return fmt::format("{}/{} trials failed, {} [{}, {}]; {} failures in {:.1f} racing-s, {} [{}, {}]", s.failures,
                     s.trials, percent(s.proportion), percent(s.proportion_ci.low), percent(s.proportion_ci.high),
                     s.rate.failures, s.rate.exposure_s, rate_per_s(s.rate.rate), rate_per_s(s.rate.ci.low),
                     rate_per_s(s.rate.ci.high));
}

std::string junit_xml(const record::Night& night, const Comparison* cmp, const std::string& suite_name) {
  Doc doc(xmlNewDoc(x("1.0")));
  xmlNode* root = xmlNewNode(nullptr, x("testsuites"));
  xmlDocSetRootElement(doc.get(), root);
  attr(root, "name", suite_name);
  xmlNode* suite = child(root, "testsuite");
  attr(suite, "name", fmt::format("{} {}", suite_name, night.matrix));
  attr(suite, "timestamp", night.started_at);
  attr(suite, "hostname", night.host);
  attr(suite, "time", fmt::format("{:.3f}", night.seconds));
  xmlNode* props = child(suite, "properties");
  auto prop = [&](const char* name, const std::string& value) {
    xmlNode* p = child(props, "property");
    attr(p, "name", name);
    attr(p, "value", value);
  };
  prop("qemu_version", night.qemu_version);
  prop("accelerator", night.accelerator);
  prop("matrix", night.matrix);
  if (cmp) {
    prop("baseline", cmp->baseline_label);
    prop("alpha", fmt::format("{:g}", cmp->params.alpha));
  }
  const std::string classname = "racebisect." + (night.matrix.empty() ? std::string("nightly") : night.matrix);
  std::map<std::string, const CellComparison*> by_cell;
  if (cmp)
    for (const auto& c : cmp->cells) by_cell[c.cell] = &c;
  int counts[3] = {0, 0, 0};  // failures, errors, skipped
  int tests = 0;
  const std::string current = cmp ? cmp->current_label : "";
  const std::string baseline = cmp ? cmp->baseline_label : "";
  for (const auto& c : night.cells) {
    const auto it = by_cell.find(c.cell);
    add_case(suite, classname, &c, it == by_cell.end() ? nullptr : it->second, baseline, current, counts);
    ++tests;
  }
  if (cmp)
    for (const auto& c : cmp->cells)
      if (!c.b) add_case(suite, classname, nullptr, &c, baseline, current, counts), ++tests;
  for (xmlNode* n : {root, suite}) {
    attr(n, "tests", std::to_string(tests));
    attr(n, "failures", std::to_string(counts[0]));
    attr(n, "errors", std::to_string(counts[1]));
    attr(n, "skipped", std::to_string(counts[2]));
  }
  xmlChar* buf = nullptr;
  int size = 0;
  xmlDocDumpFormatMemoryEnc(doc.get(), &buf, &size, "UTF-8", 1);
  std::string out(reinterpret_cast<char*>(buf), static_cast<size_t>(size));
  xmlFree(buf);
  return out;
}

}  // namespace rb::report
