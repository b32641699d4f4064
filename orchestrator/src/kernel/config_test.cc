#include "kernel/config.h"

#include <gtest/gtest.h>

#include <optional>

#include "util/error.h"
#include "util/fs.h"

namespace rb::kernel {
namespace {

TEST(Fragment, ParsesValuesUnsetAndSkipsProse) {
  auto opts = parse_fragment("# prose\n\nCONFIG_A=y\n# CONFIG_B is not set\nCONFIG_NR_CPUS=8\nCONFIG_S=\"x y\"\n", "f");
  ASSERT_EQ(opts.size(), 4u);
  EXPECT_EQ(opts[0].name, "A");
  EXPECT_EQ(opts[0].value, "y");
  EXPECT_EQ(opts[0].origin, "f:3");
  EXPECT_EQ(opts[1].name, "B");
  EXPECT_EQ(opts[1].value, "n");
  EXPECT_EQ(opts[2].value, "8");
  EXPECT_EQ(opts[3].value, "\"x y\"");
}

TEST(Fragment, RejectsGarbageWithFileAndLine) {
  try {
    parse_fragment("CONFIG_A=y\nHUGETLBFS=y\n", "frag.config");
    FAIL() << "accepted a line without CONFIG_";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("frag.config:2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_fragment("CONFIG_A\n", "f"), Error);
  EXPECT_THROW(parse_fragment("CONFIG_A=\n", "f"), Error);
  EXPECT_THROW(parse_fragment("CONFIG_A-B=y\n", "f"), Error);
}

TEST(Verify, ReportsDroppedWrongAndLaterFragmentWins) {
  auto wanted = parse_fragment("CONFIG_A=y\nCONFIG_B=y\nCONFIG_C=y\nCONFIG_D=n\n# CONFIG_E is not set\nCONFIG_F=m\nCONFIG_F=y\n", "w");
  auto dot = parse_dotconfig("CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_D=y\nCONFIG_F=y\n");
  auto m = verify_config(wanted, dot, {});
  ASSERT_EQ(m.size(), 3u);  // B (not set), C (absent), D (wanted n, got y); E fine; F: last wins (y)
  EXPECT_EQ(m[0].wanted.name, "B");
  EXPECT_EQ(m[0].describe(), "CONFIG_B=y (w:2) ended up as not set");
  EXPECT_EQ(m[1].wanted.name, "C");
  EXPECT_FALSE(m[1].got.has_value());
  EXPECT_EQ(m[2].wanted.name, "D");
}

TEST(Kconfig, FindsEntryAndItsDependencies) {
  const char* text =
      "config FOO\n\tbool \"foo\"\n\tdepends on BAR && !BAZ\n\tdepends on X86\n\thelp\n\t  text\n"
      "menuconfig OTHER\n\tdepends on NOPE\n";
  auto e = find_kconfig_in(text, "FOO", "mm/Kconfig");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->file, "mm/Kconfig");
  ASSERT_EQ(e->depends.size(), 2u);
  EXPECT_EQ(e->depends[0], "BAR && !BAZ");
  EXPECT_EQ(e->depends[1], "X86");
  EXPECT_FALSE(find_kconfig_in(text, "FO", "x"));
}

TEST(Kconfig, MismatchNamesDependencyOrNonexistence) {
  TempDir tree(fs::temp_directory_path(), "kconfig");
  fs::create_directories(tree.path() / "mm");
  write_file_atomic(tree.path() / "mm" / "Kconfig", "config USERFAULTFD\n\tbool\n\tdepends on MMU\n");
  auto wanted = parse_fragment("CONFIG_USERFAULTFD=y\nCONFIG_NO_SUCH=y\n", "uffd.config");
  auto m = verify_config(wanted, {}, tree.path());
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].wanted.name, "NO_SUCH");
  EXPECT_EQ(m[0].describe(), "CONFIG_NO_SUCH=y (uffd.config:2) does not exist in this kernel tree");
  EXPECT_EQ(m[1].describe(),
            "CONFIG_USERFAULTFD=y (uffd.config:1) is absent from .config; Kconfig says it depends on: [MMU]");
}

// The boot's TCG presets need CONFIG_HZ; a config that does not say, or
// says something that is not a timer rate, tells nothing.
TEST(ConfigHz, ReadsTheOneLine) {
  struct Row {
    std::string config;
    std::optional<int> hz;
  };
  const Row rows[] = {
      {"CONFIG_HZ_250=y\nCONFIG_HZ=250\n", 250},
      {"CONFIG_SMP=y\nCONFIG_HZ=1000", 1000},  // last line without a newline
      {"CONFIG_SMP=y\n", std::nullopt},         // no HZ line
      {"CONFIG_HZ=\"250\"\n", std::nullopt},    // not a number
      {"CONFIG_HZ=7\n", std::nullopt},          // not a timer rate
      {"CONFIG_HZ=999999999999\n", std::nullopt},
      {"garbage line\n", std::nullopt},
      {"", std::nullopt},
  };
  for (const auto& r : rows) EXPECT_EQ(config_hz(r.config), r.hz) << r.config;
}

}  // namespace
}  // namespace rb::kernel
