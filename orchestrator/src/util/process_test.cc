#include "util/process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <future>
#include <thread>

#include "util/error.h"
#include "util/fs.h"
#include "util/stop.h"

namespace rb {
namespace {

using namespace std::chrono_literals;
// Waits here check that something happens at all; none is a speed limit.
constexpr auto kBound = 60s;

bool alive(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return false;
  const auto paren = stat.rfind(')');
  return paren != std::string::npos && stat[paren + 2] != 'Z' && stat[paren + 2] != 'X';
}

bool dies(pid_t pid) {
  const auto end = std::chrono::steady_clock::now() + kBound;
  while (alive(pid) && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(20ms);
  return !alive(pid);
}

pid_t read_pid(const fs::path& file) {
  const auto end = std::chrono::steady_clock::now() + kBound;
  while (std::chrono::steady_clock::now() < end) {
    std::ifstream in(file);
    pid_t pid = 0;
    if (in >> pid && pid > 0) return pid;
    std::this_thread::sleep_for(20ms);
  }
  return 0;
}

class ProcessTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = std::make_unique<TempDir>(fs::temp_directory_path(), "rb-process"); }
  void TearDown() override { clear_stop_for_testing(); }
  fs::path dir() const { return dir_->path(); }
  std::unique_ptr<TempDir> dir_;
};

TEST_F(ProcessTest, CapturesOutputAndExitCodes) {
  auto r = run_process({"sh", "-c", "echo out; echo err >&2; exit 7"});
  EXPECT_EQ(r.exit_code, 7);
  EXPECT_NE(r.output.find("out\n"), std::string::npos);
  EXPECT_NE(r.output.find("err\n"), std::string::npos);
  EXPECT_EQ(run_process({"sh", "-c", "kill -TERM $$"}).exit_code, 128 + SIGTERM);
  // More than a pipe buffer, so the reader must keep up while waiting.
  EXPECT_EQ(run_process({"head", "-c", "300000", "/dev/zero"}).output.size(), 300000u);
}

TEST_F(ProcessTest, MissingProgramAndBadDirectoryAreInfraErrors) {
  try {
    Process p({"racebisect-no-such-program"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Infrastructure);
    EXPECT_NE(std::string(e.what()).find("racebisect-no-such-program"), std::string::npos);
  }
  try {
    Process p({"true"}, {.cwd = dir() / "missing", .output = {}, .env = {}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos) << e.what();
  }
}

TEST_F(ProcessTest, EnvironmentOverridesAndOutputFile) {
  const fs::path log = dir() / "log";
  run_process({"sh", "-c", "echo $RB_TEST_VAR"}, {.cwd = {}, .output = log, .env = {{"RB_TEST_VAR", "one"}}});
  run_process({"sh", "-c", "echo $RB_TEST_VAR"}, {.cwd = {}, .output = log, .env = {{"RB_TEST_VAR", "two"}}});
  EXPECT_EQ(read_file(log), "one\ntwo\n");  // appended
  ::setenv("RB_TEST_UNSET", "inherited", 1);
  RunResult r = run_process({"sh", "-c", "echo ${RB_TEST_UNSET:-gone}"}, {.cwd = {}, .output = {}, .env = {}, .what = {},
                                                                         .unset = {"RB_TEST_UNSET"}});
  ::unsetenv("RB_TEST_UNSET");
  EXPECT_EQ(r.output, "gone\n");
}

// Many threads waiting for their own children at once: each sees its own
// exit code (no process-wide SIGCHLD handler to fight over).
TEST_F(ProcessTest, ParallelWaitsAreIndependent) {
  std::vector<std::future<int>> wrong;
  for (int t = 0; t < 8; ++t)
    wrong.push_back(std::async(std::launch::async, [t] {
      int bad = 0;
      for (int i = 0; i < 15; ++i) {
        const int want = (t * 15 + i) % 100;
        Process p({"sh", "-c", "exit " + std::to_string(want)});
        std::optional<int> code;
        while (!(code = p.wait_for(5ms))) {
        }
        bad += *code != want;
      }
      return bad;
    }));
  for (auto& f : wrong) EXPECT_EQ(f.get(), 0);
}

// The timeout takes the whole group, not just the direct child.
TEST_F(ProcessTest, TimeoutKillsTheWholeGroup) {
  const fs::path pidfile = dir() / "pid";
  auto r = run_process({"sh", "-c", "sleep 1000 & echo $! > " + pidfile.string() + "; wait"}, {}, 1s);
  EXPECT_TRUE(r.timed_out);
  const pid_t grandchild = read_pid(pidfile);
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(dies(grandchild));
}

TEST_F(ProcessTest, StopRequestEndsAWaitAsInterrupted) {
  auto waiter = std::async(std::launch::async, [] {
    try {
      run_process({"sleep", "1000"}, {.cwd = {}, .output = {}, .env = {}, .what = "a long sleep"});
      return std::string("returned normally");
    } catch (const Interrupted& e) {
      return std::string("interrupted: ") + e.what();
    } catch (const std::exception& e) {
      return std::string("other: ") + e.what();
    }
  });
  std::this_thread::sleep_for(200ms);
  request_stop(SIGINT);
  ASSERT_EQ(waiter.wait_for(kBound), std::future_status::ready) << "the stop request was not seen";
  const std::string got = waiter.get();
  EXPECT_EQ(got.rfind("interrupted: ", 0), 0u) << got;
  EXPECT_NE(got.find("a long sleep"), std::string::npos) << got;
}

TEST_F(ProcessTest, DestroyingAProcessKillsItsGroup) {
  const fs::path pidfile = dir() / "pid";
  pid_t child = 0;
  {
    Process p({"sh", "-c", "sleep 1000 & echo $! > " + pidfile.string() + "; wait"});
    child = p.pid();
    ASSERT_GT(read_pid(pidfile), 0);
  }
  EXPECT_FALSE(alive(child));
  EXPECT_TRUE(dies(read_pid(pidfile)));
}

// kill -9 of the parent: the direct child (PDEATHSIG) and the child's own
// children (the guardian kills the group) die with it.
TEST_F(ProcessTest, ChildrenAndTheirChildrenDieWithAKilledParent) {
  const fs::path pidfile = dir() / "pids";
  const pid_t parent = ::fork();
  ASSERT_GE(parent, 0);
  if (parent == 0) {
    try {
      Process p({"sh", "-c", "sleep 1000 & echo $$ $! > " + pidfile.string() + "; wait"});
      ::pause();
    } catch (...) {
    }
    ::_exit(1);
  }
  pid_t child = 0, grandchild = 0;
  const auto end = std::chrono::steady_clock::now() + kBound;
  while (!grandchild && std::chrono::steady_clock::now() < end) {
    std::ifstream in(pidfile);
    in >> child >> grandchild;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_GT(grandchild, 0);
  ::kill(parent, SIGKILL);
  ::waitpid(parent, nullptr, 0);
  EXPECT_TRUE(dies(child)) << "direct child survived its parent";
  EXPECT_TRUE(dies(grandchild)) << "the child's own child survived";
}

TEST_F(ProcessTest, KillAllChildrenTakesEveryLiveGroup) {
  Process a({"sleep", "1000"});
  Process b({"sh", "-c", "sleep 1000; true"});
  kill_all_children();
  EXPECT_EQ(a.wait(), 128 + SIGKILL);
  EXPECT_EQ(b.wait(), 128 + SIGKILL);
}

TEST_F(ProcessTest, RunCheckedNamesWhatTimedOut) {
  try {
    run_checked({"sleep", "1000"}, {.cwd = {}, .output = {}, .env = {}, .what = "git clone of nothing"}, 1s);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Infrastructure);
    EXPECT_NE(std::string(e.what()).find("timed out after 1 s: git clone of nothing"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rb
