// JUnit XML for CI servers (GitLab, Jenkins): one <testcase> per cell of the
// current night.
//   regression            -> <failure type="regression"> with both rates,
//                            their intervals and the p-values in the message
//   infrastructure error  -> <error type="infrastructure">
//   inconclusive          -> <skipped> (the run could not tell; not green, not red)
//   cell only in the baseline -> <skipped> ("not run in this night")
//   no change, improvement, or no baseline -> passes, figures in <system-out>
// Built with libxml2, so every label and console excerpt is escaped by the
// serializer; strings are sanitised first (XML 1.0 forbids most control
// characters even as character references).
#pragma once
#include <string>

#include "record/night.h"
#include "report/compare.h"

namespace rb::report {

// `comparison` may be null (a first night, or `nightly` without a baseline).
std::string junit_xml(const record::Night& night, const Comparison* comparison,
                      const std::string& suite_name = "racebisect nightly");

// The one-line figures of a cell: "18/20 trials, 19 failures in 21.5 s:
// 0.884/s [0.532, 1.38/s]". Shared with the HTML page.
std::string cell_figures(const CellStats& s);

}  // namespace rb::report
