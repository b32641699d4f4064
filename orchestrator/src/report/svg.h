// Inline SVG charts for the HTML report: per-trial failure fractions or
// per-second rates with their intervals. Pure functions from numbers to markup; every label is escaped.
#pragma once
#include <string>
#include <vector>

namespace rb::report {

// One estimate with its interval. A rate of 0 sits on the axis floor with
// an open marker; an unbounded upper end runs to the right edge with an arrow.
struct IntervalMark {
  double estimate = 0, low = 0, high = 0;
  std::string css_class;  // e.g. "current regression", "baseline"
  std::string tooltip;    // shown on hover (<title>)
};

struct IntervalRow {
  std::string label;
  std::vector<IntervalMark> marks;  // drawn one under the other within the row
};

// Rates span decades (2/s on a racing kernel, < 0.02/s on a fixed one): a
// log axis. Per-trial failure fractions: a linear 0-100% axis.
enum class Axis { LogRate, Fraction };

// Horizontal dot-and-whisker chart, one row per cell.
std::string interval_chart(const std::vector<IntervalRow>& rows, const std::string& axis_title,
                           const std::string& aria_label, Axis axis = Axis::LogRate);

// A small chart of one cell over nights: x = night, y = rate (log), a
// whisker per night. `lo_axis`/`hi_axis` are shared by all cells so the
// small multiples compare at a glance.
struct NightMark {
  std::string label;  // e.g. the date
  IntervalMark mark;
};
std::string trend_chart(const std::string& title, const std::vector<NightMark>& nights, double lo_axis, double hi_axis);

// Decade-aligned axis bounds covering every finite positive value given
// (at least one decade; defaults to [0.01, 10] when there is none).
std::pair<double, double> log_axis_bounds(const std::vector<double>& values);

}  // namespace rb::report
