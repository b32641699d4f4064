// The strict case loader: every bad case file is refused with file, line and
// column and the key or value named; the shipped case loads.
#include "run/case.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "util/error.h"

namespace rb::run {
namespace {

namespace fs = std::filesystem;

const std::string kGoodCase = R"(name = "demo"
source = "/usr/src/linux-source-6.1.tar.xz"
fragments = ["fragments/base.config"]

[guest]
test = "uffd-race"
trials = 4
hugepages = 64
args = { variant = "missing", pages = 32, pin = true }

[[kernels]]
label = "unpatched"
role = "bug"
patches = ["patches/revert.patch"]

[[kernels]]
label = "patched"
role = "fixed"

[[extra_kernels]]
label = "minor"
args = { variant = "minor" }
)";

std::string replace(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return s.replace(at, from.size(), to);
}

TEST(CaseFile, GoodCaseLoads) {
  const Case c = load_case_text(kGoodCase, "/k/cases/demo.toml");
  EXPECT_EQ(c.name, "demo");
  EXPECT_EQ(c.guest_test, "uffd-race");
  EXPECT_EQ(c.trials, 4);
  EXPECT_EQ(c.args.at("pages"), "32");
  EXPECT_EQ(c.args.at("pin"), "1");
  ASSERT_EQ(c.kernels.size(), 2u);
  EXPECT_EQ(c.kernels[0].patches.at(0), fs::path("/k/patches/revert.patch"));
  EXPECT_EQ(c.kernels[1].role, "fixed");
  EXPECT_EQ(c.extra_kernels.at(0).role, "info");
  EXPECT_EQ(c.fragments.at(0), fs::path("/k/fragments/base.config"));
}

TEST(CaseFile, ShippedCaseLoads) {
  const Case c = load_case(default_case_path());
  EXPECT_EQ(c.name, "uffd-hugetlb");
  EXPECT_GE(c.kernels.size(), 2u);
}

TEST(CaseFile, BadCasesAreRefusedWithFileAndLine) {
  struct Row {
    const char* name;
    std::string text;
    const char* message;  // substring, after "demo.toml:"
  } rows[] = {
      {"mistyped key", replace(kGoodCase, "trials = 4", "trails = 4"),
       "demo.toml:7:1: unknown key 'trails' in [guest] (did you mean 'trials'?)"},
      {"unknown top key", "colour = \"red\"\n" + kGoodCase, "demo.toml:1:1: unknown key 'colour' in the case file"},
      {"unknown kernel key", replace(kGoodCase, "role = \"bug\"", "rolle = \"bug\""),
       "demo.toml:13:1: unknown key 'rolle' in [[kernels]] (did you mean 'role'?)"},
      {"trials a string", replace(kGoodCase, "trials = 4", "trials = \"abc\""),
       "demo.toml:7:10: guest.trials must be an integer, not a string"},
      {"hugepages a float", replace(kGoodCase, "hugepages = 64", "hugepages = 1.5"),
       "demo.toml:8:13: guest.hugepages must be an integer, not a float"},
      {"trials zero", replace(kGoodCase, "trials = 4", "trials = 0"), "demo.toml:7:10: guest.trials '0': must be between 1"},
      {"vcpus huge", replace(kGoodCase, "trials = 4", "vcpus = 1000"), "guest.vcpus '1000'"},
      {"missing test", replace(kGoodCase, "test = \"uffd-race\"", ""), "guest.test is required"},
      {"no guest", replace(replace(kGoodCase, "[guest]", "[guesst]"), "test = \"uffd-race\"", ""),
       "unknown key 'guesst' in the case file (did you mean 'guest'?)"},
      {"test path", replace(kGoodCase, "test = \"uffd-race\"", "test = \"../../bin/sh\""),
       "demo.toml:6:8: guest test '../../bin/sh'"},
      {"label traversal", replace(kGoodCase, "label = \"unpatched\"", "label = \"../../x\""),
       "demo.toml:12:9: kernel label '../../x': only letters"},
      {"absolute label", replace(kGoodCase, "label = \"unpatched\"", "label = \"/tmp/x\""), "kernel label '/tmp/x'"},
      {"duplicate label", replace(kGoodCase, "label = \"patched\"", "label = \"unpatched\""),
       "demo.toml:17:9: kernel label 'unpatched' used twice"},
      {"duplicate across lists", replace(kGoodCase, "label = \"minor\"", "label = \"patched\""),
       "kernel label 'patched' used twice"},
      {"bad case name", replace(kGoodCase, "name = \"demo\"", "name = \"../evil\""), "demo.toml:1:8: case name '../evil'"},
      {"arg with a tab", replace(kGoodCase, "variant = \"missing\"", "variant = \"a\\tinit=/bin/sh\""),
       "guest argument variant 'a\\tinit=/bin/sh'"},
      {"arg a float", replace(kGoodCase, "pages = 32", "pages = 3.5"), "guest.args.pages must be a string, integer or boolean"},
      {"patches not strings", replace(kGoodCase, "patches = [\"patches/revert.patch\"]", "patches = [1]"),
       "kernels.patches entries must be non-empty strings"},
      {"fragments a string", replace(kGoodCase, "fragments = [\"fragments/base.config\"]", "fragments = \"x\""),
       "fragments must be an array of strings, not a string"},
      {"kernels a number", "kernels = 5\n" + kGoodCase.substr(0, kGoodCase.find("[[kernels]]")),
       "demo.toml:1:11: kernels must be an array of tables"},
      {"no kernels", kGoodCase.substr(0, kGoodCase.find("[[kernels]]")), "at least one [[kernels]] entry is required"},
      {"syntax", kGoodCase + "x = = 1\n", "demo.toml:23:5: "},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    try {
      load_case_text(r.text, "/k/cases/demo.toml");
      ADD_FAILURE() << "accepted:\n" << r.text;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Usage);
      EXPECT_NE(std::string(e.what()).find(r.message), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).rfind("/k/cases/demo.toml", 0), 0u) << e.what();
    }
  }
}

TEST(CaseFile, DirectoryAndMissingFile) {
  try {
    load_case(fs::temp_directory_path());
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is a directory, not a file"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_case("/nonexistent/case.toml"), Error);
}

TEST(CaseFile, ArgFlagsAreChecked) {
  Args a;
  apply_arg_flags(a, {"seed=1", "pin=0"});
  EXPECT_EQ(a.at("seed"), "1");
  EXPECT_THROW(apply_arg_flags(a, {"seed=a b"}), Error);
  EXPECT_THROW(apply_arg_flags(a, {"seed=1\tinit=/bin/sh"}), Error);
  EXPECT_THROW(apply_arg_flags(a, {"noequals"}), Error);
}

TEST(CaseFile, RandomMutationsOnlyEverThrowUsageErrors) {
  // Bounded random input for the loader (the libFuzzer target in fuzz/ runs
  // far longer): byte flips, cuts and splices of a good case.
  std::mt19937 rng(11);
  int refused = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string t = kGoodCase;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % t.size();
      switch (rng() % 4) {
        case 0: t[at] = static_cast<char>(rng() & 0xff); break;
        case 1: t.erase(at, rng() % 20); break;
        case 2: t.insert(at, t.substr(rng() % t.size(), rng() % 40)); break;
        default: t.insert(at, 1, "[]{}=\"'\n#.,\\"[rng() % 13]); break;
      }
      if (t.empty()) t = "x";
    }
    try {
      load_case_text(t, "/k/cases/m.toml");
    } catch (const Error& e) {
      ASSERT_EQ(e.kind(), ErrorKind::Usage) << e.what();
      ++refused;
    }
  }
  EXPECT_GT(refused, 1000);
}

}  // namespace
}  // namespace rb::run
