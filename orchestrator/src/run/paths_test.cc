#include "run/paths.h"

#include <gtest/gtest.h>

#include "util/error.h"
#include "util/fs.h"

namespace rb::run {
namespace {

// A fake prefix on disk: bin/racebisect (never run), share/racebisect/cases,
// libexec/racebisect/rb-init -- what `cmake --install` lays out.
struct Prefix {
  TempDir tmp{fs::temp_directory_path(), "rb-paths"};
  fs::path exe = tmp.path() / "bin" / "racebisect";
  fs::path data = tmp.path() / "share" / "racebisect", libexec = tmp.path() / "libexec" / "racebisect";
  Prefix() {
    write_file_atomic(exe, "");
    fs::create_directories(data / "cases");
    write_file_atomic(libexec / "rb-init", "");
  }
};

TEST(Paths, InstalledLayoutIsFoundNextToTheExecutable) {
  Prefix p;
  const DataLayout l = resolve_layout({std::nullopt, std::nullopt, p.exe});
  EXPECT_EQ(l.data, p.data);
  EXPECT_EQ(l.libexec, p.libexec);
  EXPECT_EQ(l.data_from, "executable");
  EXPECT_EQ(l.libexec_from, "executable");
}

TEST(Paths, EnvironmentOverridesTheExecutable) {
  Prefix installed, mine;
  const DataLayout l = resolve_layout({mine.data, mine.libexec, installed.exe});
  EXPECT_EQ(l.data, mine.data);
  EXPECT_EQ(l.libexec, mine.libexec);
  EXPECT_EQ(l.data_from, "RACEBISECT_DATA");
  EXPECT_EQ(l.libexec_from, "RACEBISECT_LIBEXEC");
  // Each override stands alone.
  const DataLayout d = resolve_layout({mine.data, std::nullopt, installed.exe});
  EXPECT_EQ(d.data, mine.data);
  EXPECT_EQ(d.libexec, installed.libexec);
}

struct BadPathRow {
  const char* name;
  bool env_data_wrong, env_libexec_wrong, remove_cases, remove_init;
  ErrorKind kind;
  const char* names;  // must appear in the message
};

const BadPathRow kBadPaths[] = {
    {"data override without cases", true, false, false, false, ErrorKind::Usage, "RACEBISECT_DATA="},
    {"libexec override without init", false, true, false, false, ErrorKind::Usage, "RACEBISECT_LIBEXEC="},
    {"installed data missing", false, false, true, false, ErrorKind::Infrastructure, "share/racebisect"},
    {"installed init missing", false, false, false, true, ErrorKind::Infrastructure, "libexec/racebisect"},
};

class PathsBad : public ::testing::TestWithParam<BadPathRow> {};

TEST_P(PathsBad, NamesWhatWasTried) {
  const BadPathRow& row = GetParam();
  Prefix p;
  TempDir empty(fs::temp_directory_path(), "rb-empty");
  if (row.remove_cases) fs::remove_all(p.data / "cases");
  if (row.remove_init) fs::remove(p.libexec / "rb-init");
  LayoutInputs in{std::nullopt, std::nullopt, p.exe};
  if (row.env_data_wrong) in.env_data = empty.path();
  if (row.env_libexec_wrong) in.env_libexec = empty.path();
  try {
    resolve_layout(in);
    FAIL() << "resolved";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), row.kind) << e.what();
    EXPECT_NE(std::string(e.what()).find(row.names), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Rows, PathsBad, ::testing::ValuesIn(kBadPaths), [](const auto& info) {
  std::string n = info.param.name;
  for (auto& c : n)
    if (c == ' ') c = '_';
  return n;
});

// The build tree is laid out like an install: this test binary (in
// build/orchestrator/) finds the source's cases through build/share/racebisect
// and the guest binaries built into build/libexec/racebisect.
TEST(Paths, BuildTreeResolvesLikeAnInstall) {
  const DataLayout l = resolve_layout({std::nullopt, std::nullopt, fs::read_symlink("/proc/self/exe")});
  EXPECT_TRUE(fs::is_regular_file(l.data / "cases" / "uffd-hugetlb.toml")) << l.data;
  EXPECT_TRUE(fs::is_regular_file(l.libexec / "uffd-race")) << l.libexec;
  EXPECT_EQ(l.data_from, "executable");
}

}  // namespace
}  // namespace rb::run
