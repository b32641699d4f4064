#include "report/junit.h"

#include <gtest/gtest.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "report/test_fixture.h"
#include "report/text.h"

namespace rb::report {
namespace {

struct Parsed {
  xmlDoc* doc;
  ~Parsed() { xmlFreeDoc(doc); }
};

std::string prop(xmlNode* n, const char* name) {
  xmlChar* v = xmlGetProp(n, reinterpret_cast<const xmlChar*>(name));
  std::string s = v ? reinterpret_cast<const char*>(v) : "";
  xmlFree(v);
  return s;
}

std::vector<xmlNode*> children(xmlNode* n, const char* name) {
  std::vector<xmlNode*> out;
  for (xmlNode* c = n->children; c; c = c->next)
    if (c->type == XML_ELEMENT_NODE && std::string(reinterpret_cast<const char*>(c->name)) == name) out.push_back(c);
  return out;
}

// Strict parse (no recovery): the document must be well-formed XML 1.0.
TEST(Junit, HostileFixtureIsWellFormedAndSaysWhatHappened) {
  const auto f = testing::load_fixture();
  const std::string xml = junit_xml(f.current(), &f.comparison);
  Parsed p{xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "junit.xml", "UTF-8", XML_PARSE_NONET)};
  ASSERT_NE(p.doc, nullptr) << xml.substr(0, 400);
  xmlNode* root = xmlDocGetRootElement(p.doc);
  EXPECT_EQ(prop(root, "tests"), "6");
  EXPECT_EQ(prop(root, "failures"), "1");  // the fixed cell running the reverted kernel
  EXPECT_EQ(prop(root, "errors"), "1");    // the 6.12-reverted build failure
  auto suites = children(root, "testsuite");
  ASSERT_EQ(suites.size(), 1u);
  std::map<std::string, xmlNode*> cases;
  for (xmlNode* tc : children(suites[0], "testcase")) cases[prop(tc, "name")] = tc;
  ASSERT_EQ(cases.size(), 6u);
  // The hostile name comes back byte for byte (escaped in the file, not altered).
  const std::string evil = "evil <svg onload=document.body.setAttribute('data-pwned','1')>/missing";
  ASSERT_TRUE(cases.count(evil));
  auto failure = children(cases["6.1-shipped/missing"], "failure");
  ASSERT_EQ(failure.size(), 1u);
  const std::string msg = prop(failure[0], "message");
  EXPECT_EQ(prop(failure[0], "type"), "regression");
  // Both rates with their intervals and the p-values, as the CI shows them.
  const auto& reg = f.comparison.cells[0];
  EXPECT_NE(msg.find(cell_figures(reg.sa)), std::string::npos) << msg;
  EXPECT_NE(msg.find(cell_figures(reg.sb)), std::string::npos) << msg;
  EXPECT_NE(msg.find("Holm-adjusted p = " + p_value(reg.adjusted_p)), std::string::npos) << msg;
  auto error = children(cases["6.12-reverted/missing"], "error");
  ASSERT_EQ(error.size(), 1u);
  EXPECT_NE(prop(error[0], "message").find("build failed: make: *** [Makefile:1234: bzImage] Error 2 <b>no space left</b>"),
            std::string::npos)
      << prop(error[0], "message");
  // Control bytes and invalid UTF-8 never reach the file.
  EXPECT_EQ(sanitize(xml, true), xml);
}

TEST(Junit, WithoutABaselineEveryRunnableCellPasses) {
  const auto f = testing::load_fixture();
  const std::string xml = junit_xml(f.nights[0], nullptr);
  Parsed p{xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "junit.xml", "UTF-8", XML_PARSE_NONET)};
  ASSERT_NE(p.doc, nullptr);
  xmlNode* root = xmlDocGetRootElement(p.doc);
  EXPECT_EQ(prop(root, "tests"), "6");
  EXPECT_EQ(prop(root, "failures"), "0");
  EXPECT_EQ(prop(root, "errors"), "0");
}

}  // namespace
}  // namespace rb::report
