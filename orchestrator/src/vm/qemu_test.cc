#include "vm/qemu.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include "testing/scoped_env.h"

namespace rb::vm {
namespace {

using rb::testing::ScopedEnv;

// The probe asks the QEMU on PATH (here the stand-in, answering both ways).
TEST(QemuSandbox, ProbeFollowsWhatQemuSupports) {
  ScopedEnv path("PATH", std::string(RB_TESTDATA_DIR) + "/fakes:" + std::getenv("PATH"));
  EXPECT_TRUE(probe_qemu_sandbox());
  ScopedEnv off("FAKE_QEMU_SANDBOX", "unsupported");
  EXPECT_FALSE(probe_qemu_sandbox());
}

// Debian's QEMU has seccomp: every boot command line carries the sandbox.
TEST(QemuSandbox, BootCommandHasTheSandboxWhereSupported) {
  BootSpec spec;
  spec.kernel = "/k";
  spec.initrd = "/i";
  spec.console_log = "/c";
  const auto argv = qemu_command(spec);
  const auto it = std::find(argv.begin(), argv.end(), "-sandbox");
  ASSERT_EQ(probe_qemu_sandbox(), it != argv.end());
  if (it != argv.end()) {
    EXPECT_EQ(*(it + 1), "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
  }
}

}  // namespace
}  // namespace rb::vm
