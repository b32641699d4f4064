#include "report/svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "report/text.h"

namespace rb::report {

namespace {

// Maps a value to x (or y) pixels between lo and hi, on a log scale for
// rates or a linear one for fractions; anything below lo (0 on a log scale)
// goes to the floor, infinity and above hi to the ceiling.
struct Scale {
  double lo, hi, from_px, to_px;
  Axis axis = Axis::LogRate;
  double at(double v) const {
    if (!(v > lo)) return from_px;
    if (!(v < hi)) return to_px;
    if (axis == Axis::Fraction) return from_px + (v - lo) / (hi - lo) * (to_px - from_px);
    return from_px + (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo)) * (to_px - from_px);
  }
};

std::string tick_label(double v, Axis axis = Axis::LogRate) {
  if (axis == Axis::Fraction) return fmt::format("{:g}%", v * 100);
  if (v >= 1) return fmt::format("{:g}/s", v);
  return fmt::format("{:g}", v);
}

std::vector<double> tick_values(const Scale& s) {
  std::vector<double> out;
  if (s.axis == Axis::Fraction) return {0, 0.25, 0.5, 0.75, 1};
  for (double v = s.lo; v <= s.hi * 1.0001; v *= 10) out.push_back(v);
  return out;
}

std::string decade_ticks(const Scale& s, double y_top, double y_bottom, bool vertical) {
  std::string out;
  for (double v : tick_values(s)) {
    const double p = s.at(v);
    if (vertical)
      out += fmt::format("<line class=\"grid\" x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1:.1f}\" y2=\"{2:.1f}\"/>"
                         "<text class=\"tick\" x=\"{0:.1f}\" y=\"{3:.1f}\" text-anchor=\"middle\">{4}</text>",
                         p, y_top, y_bottom, y_bottom + 14, escape_html(tick_label(v, s.axis)));
    else
      out += fmt::format("<line class=\"grid\" x1=\"{1:.1f}\" x2=\"{2:.1f}\" y1=\"{0:.1f}\" y2=\"{0:.1f}\"/>", p,
                         y_top, y_bottom);
  }
  return out;
}

// One whisker with its dot, horizontal at height y.
std::string whisker(const Scale& s, const IntervalMark& m, double y) {
  const double x0 = s.at(m.low), x1 = s.at(m.high), xe = s.at(m.estimate);
  const bool zero = !(m.estimate > 0);
  const bool open_end = !std::isfinite(m.high);
  std::string out = fmt::format("<g class=\"mark {}\"><title>{}</title>", escape_html(m.css_class), escape_html(m.tooltip));
  out += fmt::format("<line class=\"ci\" x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\"/>", x0, x1, y, y);
  if (open_end) out += fmt::format("<path class=\"ci-arrow\" d=\"M{0:.1f},{1:.1f} l-6,-4 v8 z\"/>", x1, y);
  else out += fmt::format("<line class=\"ci\" x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1:.1f}\" y2=\"{2:.1f}\"/>", x1, y - 4, y + 4);
  out += fmt::format("<circle class=\"{}\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4.5\"/></g>", zero ? "dot zero" : "dot", xe, y);
  return out;
}

// Long labels end in an ellipsis (whole code points); the full text stays in
// the chart's tooltip and in the table.
std::string shorten(const std::string& s, size_t max_chars) {
  size_t chars = 0, i = 0;
  for (; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && ++chars > max_chars) break;
  return i < s.size() ? s.substr(0, i) + "\u2026" : s;
}

}  // namespace

std::pair<double, double> log_axis_bounds(const std::vector<double>& values) {
  double lo = INFINITY, hi = 0;
  for (double v : values)
    if (v > 0 && std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (hi == 0) return {0.01, 10};
  double a = std::pow(10, std::floor(std::log10(lo))), b = std::pow(10, std::ceil(std::log10(hi)));
  if (b <= a) b = a * 10;
  return {a, b};
}

std::string interval_chart(const std::vector<IntervalRow>& rows, const std::string& axis_title,
                           const std::string& aria_label, Axis axis) {
  std::vector<double> values;
  for (const auto& r : rows)
    for (const auto& m : r.marks) values.insert(values.end(), {m.estimate, m.low, m.high});
  const auto [lo, hi] = axis == Axis::Fraction ? std::pair<double, double>{0, 1} : log_axis_bounds(values);
  constexpr double kLabelW = 250, kPlotW = 900, kRowH = 34, kTop = 10;
  const double height = kTop + rows.size() * kRowH + 44;
  const Scale s{lo, hi, kLabelW + 10, kLabelW + kPlotW, axis};
  std::string out = fmt::format(
      "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"{}\" width=\"{:.0f}\" "
      "height=\"{:.0f}\" viewBox=\"0 0 {:.0f} {:.0f}\">",
      escape_html(aria_label), kLabelW + kPlotW + 20, height, kLabelW + kPlotW + 20, height);
  const double bottom = kTop + rows.size() * kRowH;
  out += decade_ticks(s, kTop, bottom, true);
  for (size_t i = 0; i < rows.size(); ++i) {
    const double y = kTop + i * kRowH;
    if (i % 2) out += fmt::format("<rect class=\"band\" x=\"0\" y=\"{:.1f}\" width=\"{:.0f}\" height=\"{:.0f}\"/>", y, kLabelW + kPlotW + 20, kRowH);
    out += fmt::format("<text class=\"row-label\" x=\"{:.0f}\" y=\"{:.1f}\" text-anchor=\"end\"><title>{}</title>{}</text>",
                       kLabelW, y + kRowH / 2 + 4, escape_html(rows[i].label), escape_html(shorten(rows[i].label, 34)));
    const auto& marks = rows[i].marks;
    for (size_t m = 0; m < marks.size(); ++m)
      out += whisker(s, marks[m], y + (m + 1) * kRowH / (marks.size() + 1));
  }
  out += fmt::format("<text class=\"axis-title\" x=\"{:.0f}\" y=\"{:.0f}\" text-anchor=\"middle\">{}</text></svg>",
                     kLabelW + kPlotW / 2, bottom + 34, escape_html(axis_title));
  return out;
}

std::string trend_chart(const std::string& title, const std::vector<NightMark>& nights, double lo_axis, double hi_axis) {
  constexpr double kW = 250, kH = 120, kLeft = 34, kTop = 22, kBottom = 20;
  const Scale y{lo_axis, hi_axis, kH - kBottom, kTop};
  std::string out = fmt::format(
      "<svg class=\"trend\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"{0}\" width=\"{1:.0f}\" "
      "height=\"{2:.0f}\" viewBox=\"0 0 {1:.0f} {2:.0f}\"><text class=\"trend-title\" x=\"4\" y=\"14\">{3}</text>",
      escape_html(title), kW, kH, escape_html(shorten(title, 36)));
  out += decade_ticks(y, kLeft, kW - 6, false);
  out += fmt::format("<text class=\"tick\" x=\"2\" y=\"{:.1f}\">{}</text><text class=\"tick\" x=\"2\" y=\"{:.1f}\">{}</text>",
                     kTop + 4, escape_html(tick_label(hi_axis)), kH - kBottom + 4, escape_html(tick_label(lo_axis)));
  const double step = nights.size() > 1 ? (kW - kLeft - 16) / (nights.size() - 1) : 0;
  std::string line;
  for (size_t i = 0; i < nights.size(); ++i) {
    const auto& m = nights[i].mark;
    const double x = kLeft + 8 + i * step;
    const double y0 = y.at(m.low), y1 = y.at(m.high), ye = y.at(m.estimate);
    line += fmt::format("{}{:.1f},{:.1f}", i ? " L" : "M", x, ye);
    out += fmt::format("<g class=\"mark {}\"><title>{}</title>", escape_html(m.css_class), escape_html(m.tooltip));
    out += fmt::format("<line class=\"ci\" x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1:.1f}\" y2=\"{2:.1f}\"/>", x, y0, y1);
    out += fmt::format("<circle class=\"{}\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\"/></g>",
                       m.estimate > 0 ? "dot" : "dot zero", x, ye);
  }
  if (nights.size() > 1) out += fmt::format("<path class=\"trend-line\" d=\"{}\"/>", line);
  if (!nights.empty())
    out += fmt::format("<text class=\"tick\" x=\"{:.0f}\" y=\"{:.0f}\">{}</text><text class=\"tick\" x=\"{:.0f}\" y=\"{:.0f}\" "
                       "text-anchor=\"end\">{}</text>",
                       kLeft, kH - 4, escape_html(nights.front().label), kW - 4, kH - 4, escape_html(nights.back().label));
  return out + "</svg>";
}

}  // namespace rb::report
