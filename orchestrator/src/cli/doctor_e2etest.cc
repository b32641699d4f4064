// `racebisect doctor` on this real machine: real QEMU, the real /dev/kvm and
// its probe (a tiny guest under KVM, when a kernel is cached), real libvirt.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "util/fs.h"
#include "util/process.h"

namespace rb {
namespace {

TEST(Doctor, RealMachineAnswersEveryCheck) {
  const fs::path dir = fs::path(RB_E2E_WORK) / "doctor";
  fs::create_directories(dir);
  const RunResult r = run_process({RB_BINARY, "doctor", "--json", (dir / "d.json").string()}, {},
                                  std::chrono::seconds(300));
  ASSERT_FALSE(r.timed_out);
  ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 3) << r.output;
  const auto j = nlohmann::json::parse(read_file(dir / "d.json"));
  EXPECT_EQ(j["schema"], "racebisect-doctor/1");
  EXPECT_EQ(j["exit_code"].get<int>(), r.exit_code);
  std::set<std::string> ids;
  for (const auto& c : j["checks"]) {
    ids.insert(c["id"].get<std::string>());
    // Whatever is wrong says how to fix it.
    if (c["status"] == "fail") {
      EXPECT_FALSE(c["fix"].get<std::string>().empty()) << c.dump();
    }
  }
  for (const char* id : {"data", "qemu", "kvm-device", "accel", "libvirt", "memory", "disk", "cache", "build-tools",
                         "ccache", "git", "source"})
    EXPECT_TRUE(ids.count(id)) << id;
  // What this test suite itself needs is here, so these must be fine.
  for (const auto& c : j["checks"])
    if (c["id"] == "qemu" || c["id"] == "data" || c["id"] == "git" || c["id"] == "build-tools") {
      EXPECT_EQ(c["status"], "ok") << c.dump();
    }
  // Text mode names the same exit code.
  EXPECT_NE(r.output.find("exit " + std::to_string(r.exit_code)), std::string::npos) << r.output;
}

TEST(Doctor, UnreachableUriFailsWithExit3) {
  const RunResult r = run_process({RB_BINARY, "doctor", "--no-probe", "--connect", "qemu+unix:///system?socket=/nonexistent",
                                   "--json", "-"},
                                  {}, std::chrono::seconds(120));
  ASSERT_EQ(r.exit_code, 3) << r.output;
  const auto j = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  bool seen = false;
  for (const auto& c : j["checks"])
    if (c["id"] == "libvirt") {
      seen = true;
      EXPECT_EQ(c["status"], "fail") << c.dump();
      EXPECT_EQ(c["subject"], "qemu+unix:///system?socket=/nonexistent");
    }
  EXPECT_TRUE(seen);
}

TEST(Doctor, MissingCaseIsBadInput) {
  const RunResult r = run_process({RB_BINARY, "doctor", "--case", "/nonexistent.toml"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

}  // namespace
}  // namespace rb
