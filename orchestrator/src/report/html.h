// The page a CI maintainer opens when a night turns red: a status banner, a
// table of cells (rate, interval, verdict), SVG charts of the rates with
// their intervals and of each cell over nights, the failing boots with
// links to their console logs and oops excerpts, and how to read it all.
//
// Self-contained and inert: one file, no network asset, no script at all,
// and a Content-Security-Policy that forbids scripts and remote loads even if
// some markup slipped through. Every string from a matrix, a kernel or a
// guest console is sanitised and escaped (report/text.h); links only to
// relative paths.
#pragma once
#include <string>
#include <vector>

#include "record/night.h"
#include "report/compare.h"
#include "report/trend.h"

namespace rb::report {

struct HtmlPage {
  const record::Night* night = nullptr;    // the night shown (required)
  const Comparison* comparison = nullptr;  // against its baseline, if any
  std::vector<CellTrend> trends;           // history including this night, if any
  std::string title = "racebisect nightly";
  std::string generator = "racebisect";    // no clock here: the same input gives the same bytes
};

std::string html_report(const HtmlPage& page);

}  // namespace rb::report
