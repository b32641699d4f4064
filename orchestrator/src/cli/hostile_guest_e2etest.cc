// The real racebisect binary against hostile consoles: `racebisect boot`
// with a stand-in qemu-system-x86_64 first on PATH (testtools/fake_qemu.cc)
// that plays each row of the guest-contract table (testing/hostile_console.h)
// plus a bounded random corpus. No kernel is needed: the stand-in never
// reads --kernel. bench/hostile_corpus.cc runs >= 10,000 of the random ones.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include "testing/hostile_console.h"
#include "testing/e2e_binary.h"
#include "testing/spawn.h"
#include "util/fs.h"

namespace rb {
namespace {

namespace fs = std::filesystem;

using testing::e2e_binary;
using testing::ScriptedConsole;

constexpr long kMaxRssKb = 256 * 1024;

struct Stage {
  fs::path dir, kernel, cache;
  Stage() : dir(fs::path(RB_E2E_WORK) / ("hostile-" + std::to_string(::getpid()))) {
    fs::remove_all(dir);
    fs::create_directories(dir);
    kernel = dir / "bzImage";  // never read: the stand-in QEMU plays a script instead
    write_file_atomic(kernel, "not a kernel");
    cache = dir / "cache";
  }
  ~Stage() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

testing::Spawned play(const Stage& st, const ScriptedConsole& c, const fs::path& out) {
  const fs::path script = st.dir / "console.script";
  write_file_atomic(script, c.script);
  std::vector<std::string> argv{e2e_binary(), "boot", "--kernel", st.kernel.string(), "--accel", "tcg",
                                "--trials", std::to_string(c.planned), "--out", out.string(),
                                "--timeout", "300"};
  argv.insert(argv.end(), c.boot_flags.begin(), c.boot_flags.end());
  if (std::find(argv.begin(), argv.end(), "--no-output-timeout") == argv.end())
    argv.insert(argv.end(), {"--no-output-timeout", "120"});
  return testing::spawn(argv,
                        {{"PATH", std::string(RB_FAKE_QEMU_DIR) + ":" + std::getenv("PATH")},
                         {"RB_FAKE_CONSOLE", script.string()},
                         {"RACEBISECT_CACHE", st.cache.string()}},
                        std::chrono::seconds(600));
}

void expect_row(const Stage& st, const ScriptedConsole& c) {
  SCOPED_TRACE(c.name);
  const fs::path out = st.dir / "out";
  fs::remove_all(out);
  const auto r = play(st, c, out);
  ASSERT_FALSE(r.timed_out) << r.output;
  EXPECT_EQ(r.exit_code, testing::boot_exit_code(c.want.outcome)) << r.output;
  // "...s): 3 pass, 1 fail, 0 infra": anchored, so "103 pass" is not "3 pass".
  const std::string counts = "s): " + std::to_string(c.want.passes) + " pass, " + std::to_string(c.want.fails) + " fail,";
  EXPECT_NE(r.output.find(counts), std::string::npos) << "want " << counts << "\n" << r.output;
  EXPECT_NE(r.output.find(c.want.detail), std::string::npos) << "want detail " << c.want.detail << "\n" << r.output;
  EXPECT_LT(r.max_rss_kb, kMaxRssKb) << "peak RSS " << r.max_rss_kb << " KiB";
  // The console on disk never passes the cap (64 MiB).
  // `boot` names its console file on its last line.
  const auto at = r.output.rfind("console: ");
  ASSERT_NE(at, std::string::npos) << r.output;
  const fs::path console = r.output.substr(at + 9, r.output.find('\n', at) - at - 9);
  ASSERT_TRUE(fs::exists(console)) << console;
  EXPECT_LE(fs::file_size(console), size_t{64} << 20);
}

TEST(HostileGuest, EveryRowOfTheContractTable) {
  Stage st;
  for (const auto& c : testing::contract_rows()) expect_row(st, c);
}

TEST(HostileGuest, BoundedRandomCorpus) {
  Stage st;
  std::mt19937_64 rng(8);
  int played = 0;
  while (played < 200 && !::testing::Test::HasFailure()) {
    const ScriptedConsole c = testing::random_console(rng);
    if (c.huge) continue;  // a few huge rows are in the table above; the bench plays more
    expect_row(st, c);
    ++played;
  }
}

}  // namespace
}  // namespace rb
