#include "report/html.h"

#include <gtest/gtest.h>

#include "report/test_fixture.h"
#include "report/text.h"

namespace rb::report {
namespace {

std::string page_for(const testing::Fixture& f, bool with_comparison = true) {
  HtmlPage p;
  p.night = &f.current();
  p.comparison = with_comparison ? &f.comparison : nullptr;
  p.trends = f.trends;
  return html_report(p);
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

TEST(Html, HostileStringsAreInert) {
  const auto f = testing::load_fixture();
  const std::string html = page_for(f);
  // No markup from the data: the page has no <script>, <img> or <svg onload>
  // of its own, so any occurrence would be injected.
  for (const char* injected : {"<script", "<img", "<svg onload", "onerror=\"", "onmouseover=\"", "href=\"javascript:"})
    EXPECT_EQ(html.find(injected), std::string::npos) << injected;
  EXPECT_NE(html.find("&lt;svg onload=document.body.setAttribute(&#39;data-pwned&#39;,&#39;1&#39;)&gt;"),
            std::string::npos);
  EXPECT_NE(html.find("&lt;/script&gt;&lt;script&gt;document.title=&#39;PWNED&#39;&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("x&quot; onmouseover=&quot;alert(1)"), std::string::npos);
  // The javascript: log is shown as text, the odd file name as an encoded link.
  EXPECT_NE(html.find("<code>javascript:alert(1)</code>"), std::string::npos);
  EXPECT_NE(html.find("href=\"boots/evil%202%20%22q%22.log\""), std::string::npos);
  // Valid UTF-8 without control bytes (newlines only inside <pre>).
  EXPECT_EQ(sanitize(html, true), html);
  EXPECT_GE(count(html, "\xEF\xBF\xBD"), 5u);  // escape codes, NUL and bad bytes became U+FFFD
  // And nothing to run or fetch even if escaping failed somewhere.
  EXPECT_NE(html.find("Content-Security-Policy\" content=\"default-src 'none'"), std::string::npos);
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg"));  // only the SVG namespace
  EXPECT_EQ(html.find("https://"), std::string::npos);
}

TEST(Html, HoldsTheFiguresOfEveryCell) {
  const auto f = testing::load_fixture();
  const std::string html = page_for(f);
  EXPECT_NE(html.find("REGRESSION in 1 cell"), std::string::npos);
  EXPECT_NE(html.find("data-status=\"red\""), std::string::npos);
  for (const auto& c : f.comparison.cells) {
    EXPECT_NE(html.find("data-cell=\"" + escape_html(c.cell) + "\""), std::string::npos) << c.cell;
    if (!c.b) continue;
    const CellStats s = cell_stats(*c.b);
    if (s.rate.exposure_s > 0) {
      EXPECT_NE(html.find("<b>" + rate_per_s(s.rate.rate) + "</b>"), std::string::npos) << c.cell;
    }
    EXPECT_NE(html.find(escape_html(c.reason)), std::string::npos) << c.cell;
  }
  EXPECT_EQ(count(html, "<svg class=\"chart\""), 1u);
  EXPECT_GE(count(html, "<svg class=\"trend\""), 5u);  // one per cell with two or more nights of racing time
  EXPECT_NE(html.find("make: *** [Makefile:1234: bzImage] Error 2 &lt;b&gt;no space left&lt;/b&gt;"), std::string::npos);
}

// The chart must show what the verdicts compared: failed trials by default,
// failures per racing-second only when the comparison used them.
TEST(Html, TheChartShowsWhatTheVerdictsCompared) {
  auto f = testing::load_fixture();
  std::string html = page_for(f);
  EXPECT_NE(html.find("<h2>Failed trials, 95% intervals</h2>"), std::string::npos);
  EXPECT_NE(html.find(">50%</text>"), std::string::npos);  // a linear 0-100% axis
  EXPECT_EQ(html.find("(log scale)</text>"), std::string::npos);
  for (auto& c : f.comparison.cells) c.measure = Measure::Exposure;
  html = page_for(f);
  EXPECT_NE(html.find("<h2>Failures per racing-second, 95% intervals</h2>"), std::string::npos);
  EXPECT_NE(html.find("failures per racing-second (log scale)</text>"), std::string::npos);
  EXPECT_EQ(html.find(">50%</text>"), std::string::npos);
}

TEST(Html, WithoutAComparisonItIsANeutralSummary) {
  const auto f = testing::load_fixture();
  const std::string html = page_for(f, false);
  EXPECT_NE(html.find("data-status=\"blue\""), std::string::npos);
  EXPECT_EQ(html.find("compared with"), std::string::npos);
  EXPECT_EQ(html.find("<th>Baseline</th>"), std::string::npos);
}

}  // namespace
}  // namespace rb::report
