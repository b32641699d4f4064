#include "image/initramfs.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "util/fs.h"
#include "util/process.h"

namespace rb::image {
namespace {

TEST(Cpio, IsDeterministicAndAligned) {
  std::vector<CpioEntry> e{{"bin", S_IFDIR | 0755, "", 0, 0}, {"bin/x", S_IFREG | 0755, "hello", 0, 0}};
  std::string a = write_cpio(e), b = write_cpio(e);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.size() % 4, 0u);
  EXPECT_EQ(a.substr(0, 6), "070701");
  EXPECT_NE(a.find("TRAILER!!!"), std::string::npos);
}

TEST(Cpio, ReadsBackWithTheRealCpioTool) {
  if (find_program("cpio").empty()) GTEST_SKIP() << "cpio not installed";
  TempDir dir(fs::temp_directory_path(), "cpio");
  std::vector<CpioEntry> e{{"bin", S_IFDIR | 0755, "", 0, 0},
                           {"bin/x", S_IFREG | 0755, "hello\n", 0, 0},
                           {"odd-name-length", S_IFREG | 0644, std::string(1001, 'z'), 0, 0}};
  write_file_atomic(dir.path() / "a.cpio", write_cpio(e));
  RunResult r = run_process({"cpio", "-t", "-F", (dir.path() / "a.cpio").string()});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("bin/x"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("odd-name-length"), std::string::npos) << r.output;
  run_checked({"cpio", "-i", "-d", "-F", (dir.path() / "a.cpio").string()}, {.cwd = dir.path(), .output = {}, .env = {}});
  EXPECT_EQ(read_file(dir.path() / "bin" / "x"), "hello\n");
  EXPECT_EQ(read_file(dir.path() / "odd-name-length").size(), 1001u);
}

TEST(Initramfs, SameInputsSameHashDifferentTestDifferentHash) {
  TempDir dir(fs::temp_directory_path(), "img");
  write_file_atomic(dir.path() / "init", "init-bytes");
  write_file_atomic(dir.path() / "t1", "test-1");
  write_file_atomic(dir.path() / "t2", "test-2");
  auto a = build_initramfs({dir.path() / "init", {dir.path() / "t1"}}, dir.path() / "cache");
  auto b = build_initramfs({dir.path() / "init", {dir.path() / "t1"}}, dir.path() / "cache");
  auto c = build_initramfs({dir.path() / "init", {dir.path() / "t2"}}, dir.path() / "cache");
  EXPECT_EQ(a.sha256, b.sha256);
  EXPECT_EQ(a.path, b.path);
  EXPECT_NE(a.sha256, c.sha256);
  EXPECT_TRUE(fs::exists(a.path));
}

}  // namespace
}  // namespace rb::image
