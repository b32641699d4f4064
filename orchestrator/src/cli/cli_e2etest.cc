// End-to-end tests: the real racebisect binary builds real kernels from
// linux-source-6.1, boots them in real QEMU and runs the real guest test.
// Kernel builds are shared through $RACEBISECT_CACHE (set by CMake), so only
// the first test pays for them. Bounded: small trial counts, short trials.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "testing/e2e_binary.h"
#include "util/fs.h"
#include "util/process.h"

namespace rb {
namespace {

using Cli = testing::CliRun;
using testing::racebisect;

fs::path scratch(const std::string& name) {
  fs::path p = fs::path(RB_E2E_WORK) / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

nlohmann::json load_json(const fs::path& p) { return nlohmann::json::parse(read_file(p)); }

const nlohmann::json& kernel(const nlohmann::json& j, const std::string& label) {
  for (const auto& k : j["kernels"])
    if (k["label"] == label) return k;
  throw std::runtime_error("no kernel " + label + " in results");
}

// Path of a kernel the case builds (cached after the first test).
std::string bzimage(const std::string& label) {
  Cli c = racebisect({"build", "--only", label});
  EXPECT_EQ(c.code, 0) << c.out;
  auto tab = c.out.rfind('\t');
  std::string path = c.out.substr(tab + 1);
  while (!path.empty() && (path.back() == '\n' || path.back() == ' ')) path.pop_back();
  return path;
}

TEST(Reproduce, SeedRaceMissingVariant) {
  fs::path dir = scratch("seed");
  // 2 x 5 trials: the fix-reverted kernel failed 7/8 two-second trials on a
  // quiet host, fewer under load; 10 keep p < 0.01 likely even then.
  Cli c = racebisect({"reproduce", "--boots", "2", "--trials", "5", "--duration-ms", "3000", "--out",
                      (dir / "bundle").string(), "--json", (dir / "r.json").string()});
  ASSERT_EQ(c.code, 0) << c.out;
  auto j = load_json(dir / "r.json");
  const auto& bug = kernel(j, "unpatched");
  const auto& fixed = kernel(j, "patched");
  EXPECT_GT(bug["failures"].get<int>(), 0);
  EXPECT_GT(bug["rate"].get<double>(), 0.0);
  EXPECT_GT(bug["ci_low"].get<double>(), 0.0);
  EXPECT_EQ(fixed["failures"].get<int>(), 0);
  EXPECT_GE(fixed["trials"].get<int>(), 3 * bug["trials"].get<int>());
  EXPECT_LT(j["verdict"]["p_value"].get<double>(), 0.01);
  EXPECT_EQ(bug["infra_errors"].get<int>(), 0);
  EXPECT_EQ(fixed["infra_errors"].get<int>(), 0);
  EXPECT_EQ(bug["boots"].size(), 2u);
  // The bundle lets anyone rerun it.
  for (const char* f : {"results.json", "summary.txt", "rerun.sh", "case.toml", "kernels/unpatched/config",
                        "kernels/patched/meta.json", "boots/unpatched-1.log", "boots/unpatched-1.log.cmd"})
    EXPECT_TRUE(fs::exists(dir / "bundle" / f)) << f;
  EXPECT_NE(c.out.find("reproduced on unpatched"), std::string::npos) << c.out;
}

TEST(Reproduce, SecondRunBuildsNothing) {
  fs::path dir = scratch("cached");
  Cli c = racebisect({"reproduce", "--boots", "1", "--trials", "1", "--duration-ms", "1000", "--out",
                      (dir / "bundle").string(), "--json", (dir / "r.json").string()});
  ASSERT_TRUE(c.code == 0 || c.code == 1) << c.out;
  auto j = load_json(dir / "r.json");
  for (const auto& k : j["kernels"]) EXPECT_TRUE(k["build"]["cache_hit"].get<bool>()) << k["label"];
}

TEST(Reproduce, MinorVariantOnBothKernels) {
  fs::path dir = scratch("minor");
  Cli c = racebisect({"reproduce", "--variant", "minor", "--boots", "1", "--trials", "2", "--duration-ms", "3000",
                      "--out", (dir / "bundle").string(), "--json", (dir / "r.json").string()});
  ASSERT_TRUE(c.code == 0 || c.code == 1) << c.out;
  auto j = load_json(dir / "r.json");
  const auto& bug = kernel(j, "unpatched");
  const auto& fixed = kernel(j, "patched");
  // The MINOR path ran for real on both kernels (shared hugetlb VMA lock may
  // mask the race: the figure is reported, not asserted).
  EXPECT_EQ(bug["trials"].get<int>(), 2);
  EXPECT_EQ(fixed["trials"].get<int>(), 6);
  EXPECT_EQ(fixed["failures"].get<int>(), 0);
  EXPECT_EQ(bug["infra_errors"].get<int>() + fixed["infra_errors"].get<int>(), 0);
  std::cout << "minor variant: unpatched " << bug["failures"] << "/" << bug["trials"] << ", patched "
            << fixed["failures"] << "/" << fixed["trials"] << "\n";
}

TEST(BadInput, MissingSourceTarball) {
  Cli c = racebisect({"reproduce", "--source", "/nonexistent/linux.tar.xz", "--out", scratch("nosrc").string()});
  EXPECT_EQ(c.code, 2) << c.out;
  EXPECT_NE(c.out.find("kernel source not found: /nonexistent/linux.tar.xz"), std::string::npos) << c.out;
}

TEST(BadInput, UnknownCommit) {
  fs::path repo = scratch("repo");
  run_checked({"git", "-C", repo.string(), "init", "-q"});
  write_file_atomic(repo / "Makefile", "all:\n");
  run_checked({"git", "-C", repo.string(), "add", "."});
  run_checked({"git", "-C", repo.string(), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"});
  Cli c = racebisect({"build", "--source", repo.string(), "--commit", "deadbeef"});
  EXPECT_EQ(c.code, 2) << c.out;
  EXPECT_NE(c.out.find("unknown commit 'deadbeef'"), std::string::npos) << c.out;
}

TEST(BadInput, PatchThatDoesNotApply) {
  fs::path dir = scratch("badpatch");
  write_file_atomic(dir / "bad.patch",
                    "--- a/mm/hugetlb.c\n+++ b/mm/hugetlb.c\n@@ -1,3 +1,3 @@\n-this line is not in hugetlb.c\n+x\n "
                    "nor this\n nor this\n");
  Cli c = racebisect({"build", "--only", "patched", "--fragment", (dir / "none.config").string()});
  EXPECT_EQ(c.code, 2) << c.out;  // missing fragment file
  EXPECT_NE(c.out.find("config fragment not found"), std::string::npos) << c.out;
  c = racebisect({"reproduce", "--kernel", "broken,bug," + (dir / "bad.patch").string(), "--out",
                  (dir / "bundle").string()});
  EXPECT_EQ(c.code, 2) << c.out;
  EXPECT_NE(c.out.find("patch does not apply: " + (dir / "bad.patch").string()), std::string::npos) << c.out;
}

TEST(BadInput, FragmentOptionThatDoesNotExist) {
  fs::path dir = scratch("badopt");
  write_file_atomic(dir / "bad.config", "CONFIG_RACEBISECT_NO_SUCH_OPTION=y\nCONFIG_HUGETLBFS=y\n");
  Cli c = racebisect({"build", "--only", "patched", "--fragment", (dir / "bad.config").string()});
  EXPECT_EQ(c.code, 2) << c.out;
  EXPECT_NE(c.out.find("CONFIG_RACEBISECT_NO_SUCH_OPTION=y (bad.config:1) does not exist in this kernel tree"),
            std::string::npos)
      << c.out;
  EXPECT_EQ(c.out.find("CONFIG_HUGETLBFS"), std::string::npos) << "a satisfied option was reported: " << c.out;
}

TEST(BadInput, MoreHugepagesThanGuestRam) {
  Cli c = racebisect({"reproduce", "--hugepages", "1024", "--memory-mb", "512", "--out", scratch("hp").string()});
  EXPECT_EQ(c.code, 2) << c.out;
  EXPECT_NE(c.out.find("hugepages=1024 (2048 MiB) do not fit in 512 MiB"), std::string::npos) << c.out;
}

TEST(BadInput, GuestThatDoesNotBoot) {
  std::string k = bzimage("patched");
  Cli c = racebisect({"boot", "--kernel", k, "--no-initrd", "--accel", "tcg", "--timeout", "120", "--out",
                      scratch("noboot").string()});
  EXPECT_EQ(c.code, 5) << c.out;  // boot failure
  EXPECT_NE(c.out.find("boot: boot-failure"), std::string::npos) << c.out;
}

TEST(BadInput, HungGuest) {
  std::string k = bzimage("patched");
  // One 10-minute trial prints nothing until it ends: the no-output watchdog
  // must kill the VM and call it a hang, not a pass or a fail.
  Cli c = racebisect({"boot", "--kernel", k, "--accel", "tcg", "--trials", "1", "--duration-ms", "600000",
                      "--no-output-timeout", "10", "--timeout", "120", "--out", scratch("hang").string()});
  EXPECT_EQ(c.code, 6) << c.out;
  EXPECT_NE(c.out.find("boot: hang"), std::string::npos) << c.out;
}

// Kernel messages reach the serial console by another path than /init's
// lines; under a flood of them every result and marker must still arrive
// whole (once, a mouse probe's message spliced into the start marker broke
// a CI boot's contract), also when the test first sets the console loglevel
// to 1 and tries to turn /dev/kmsg off (quiet=1).
TEST(Console, KernelMessagesNeverSpliceTheGuestsLines) {
  std::string k = bzimage("patched");
  for (const char* quiet : {"quiet=0", "quiet=1"}) {
    SCOPED_TRACE(quiet);
    Cli c = racebisect({"boot", "--kernel", k, "--accel", "tcg", "--test", "console-noise", "--trials", "300",
                        "--arg", quiet, "--timeout", "300", "--out", scratch("noise").string()});
    EXPECT_EQ(c.code, 0) << c.out;
    EXPECT_NE(c.out.find("s): 300 pass, 0 fail, 0 infra"), std::string::npos) << c.out;
  }
}

}  // namespace
}  // namespace rb
