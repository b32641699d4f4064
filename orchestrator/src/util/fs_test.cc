#include "util/fs.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <future>
#include <set>
#include <thread>

#include "util/error.h"
#include "util/stop.h"

namespace rb {
namespace {

using namespace std::chrono_literals;

class FsTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = std::make_unique<TempDir>(fs::temp_directory_path(), "rb-fs"); }
  void TearDown() override { clear_stop_for_testing(); }
  fs::path dir() const { return dir_->path(); }
  std::set<std::string> names() const {
    std::set<std::string> n;
    for (const auto& e : fs::directory_iterator(dir())) n.insert(e.path().filename().string());
    return n;
  }
  std::unique_ptr<TempDir> dir_;
};

TEST_F(FsTest, WriteReplacesAndLeavesNothingElse) {
  const fs::path f = dir() / "a.json";
  write_file_atomic(f, "one");
  write_file_atomic(f, "two");
  EXPECT_EQ(read_file(f), "two");
  EXPECT_EQ(names(), std::set<std::string>{"a.json"});
}

TEST_F(FsTest, ConcurrentWritersOfOneFileNeverCollide) {
  const fs::path f = dir() / "shared.json";
  std::vector<std::future<std::string>> errors;
  for (int t = 0; t < 8; ++t)
    errors.push_back(std::async(std::launch::async, [&, t] {
      try {
        for (int i = 0; i < 40; ++i) write_file_atomic(f, std::string(1000 + t, char('a' + t)));
      } catch (const std::exception& e) {
        return std::string(e.what());
      }
      return std::string();
    }));
  for (auto& e : errors) EXPECT_EQ(e.get(), "");
  const std::string got = read_file(f);
  ASSERT_GE(got.size(), 1000u);
  EXPECT_EQ(got, std::string(got.size(), got[0])) << "mixed writes";
  EXPECT_EQ(names(), std::set<std::string>{"shared.json"});
}

TEST_F(FsTest, SymlinkAtTheTargetIsRefusedAndLeftAlone) {
  const fs::path victim = dir() / "victim";
  write_file_atomic(victim, "precious");
  fs::create_symlink(victim, dir() / "link");
  try {
    write_file_atomic(dir() / "link", "clobbered");
    FAIL() << "wrote through a symlink";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find((dir() / "link").string()), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::is_symlink(dir() / "link"));
  EXPECT_EQ(read_file(victim), "precious");
}

// /dev/fd/N (as /dev/stdout is) names an open stream: written to, not replaced.
TEST_F(FsTest, NamedDescriptorIsWrittenToNotReplaced) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  write_file_atomic("/dev/fd/" + std::to_string(p[1]), "through the pipe");
  ::close(p[1]);
  char buf[64] = {};
  EXPECT_EQ(std::string(buf, static_cast<size_t>(::read(p[0], buf, sizeof buf))), "through the pipe");
  ::close(p[0]);
}

TEST_F(FsTest, FifoIsWrittenDirectly) {
  const fs::path fifo = dir() / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const int r = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);  // a reader, so the writer's open does not block
  ASSERT_GE(r, 0);
  write_file_atomic(fifo, "hello");
  char buf[16] = {};
  EXPECT_EQ(std::string(buf, static_cast<size_t>(::read(r, buf, sizeof buf))), "hello");
  ::close(r);
  EXPECT_TRUE(fs::is_fifo(fifo)) << "the FIFO was replaced by a file";
}

TEST_F(FsTest, DirectoryTargetIsAUsageError) {
  fs::create_directories(dir() / "d");
  try {
    write_file_atomic(dir() / "d", "x");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
  }
}

// A write that cannot complete (here: RLIMIT_FSIZE, as a full disk would)
// fails loudly, keeps the old contents and leaves no temp file. Run in a
// child process, which alone gets the file-size limit.
TEST_F(FsTest, FailedWriteKeepsTheOldFileAndNoTemp) {
  const fs::path f = dir() / "results.json";
  write_file_atomic(f, "old");
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    rlimit lim{1024, 1024};
    ::setrlimit(RLIMIT_FSIZE, &lim);
    int code = 0;
    try {
      write_file_atomic(f, std::string(2000, 'x'));  // fits a stream buffer: a silent loss before
      code = 1;
    } catch (const Error& e) {
      code = std::string(e.what()).find(f.string()) != std::string::npos ? 0 : 2;
    } catch (...) {
      code = 3;
    }
    ::_exit(code);
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0) << "1: no error, 2: error without the path, 3: not an rb::Error";
  EXPECT_EQ(read_file(f), "old");
  EXPECT_EQ(names(), std::set<std::string>{"results.json"});
}

TEST_F(FsTest, CommitNeverReplacesAnExistingEntry) {
  const fs::path dest = dir() / "entry";
  {
    TempDir a(dir(), "entry.partial");
    write_file_atomic(a.path() / "f", "first");
    EXPECT_TRUE(a.commit_to(dest));
  }
  {
    TempDir b(dir(), "entry.partial");
    write_file_atomic(b.path() / "f", "second");
    EXPECT_FALSE(b.commit_to(dest));
  }
  EXPECT_EQ(read_file(dest / "f"), "first");
  EXPECT_EQ(names(), std::set<std::string>{"entry"});
}

TEST_F(FsTest, StaleTempDirsOfDeadProcessesAreRemoved) {
  const pid_t dead = [] {
    const pid_t p = ::fork();
    if (p == 0) ::_exit(0);
    ::waitpid(p, nullptr, 0);
    return p;
  }();
  fs::create_directories(dir() / ("k1.partial." + std::to_string(dead) + ".123"));
  fs::create_directories(dir() / ("k2.partial." + std::to_string(::getpid()) + ".456"));  // alive: ours
  fs::create_directories(dir() / "k3");
  EXPECT_EQ(remove_stale_temp_dirs(dir(), ".partial"), 1);
  EXPECT_EQ(names(), (std::set<std::string>{"k2.partial." + std::to_string(::getpid()) + ".456", "k3"}));
}

TEST_F(FsTest, QuarantineFreesTheName) {
  fs::create_directories(dir() / "entry");
  const fs::path q = quarantine(dir() / "entry");
  EXPECT_FALSE(fs::exists(dir() / "entry"));
  EXPECT_TRUE(fs::is_directory(q));
  EXPECT_NE(q.filename().string().find("entry.corrupt."), std::string::npos);
}

// flock() conflicts between two open file descriptions even in one process,
// so a second FileLock here waits as another process would.
TEST_F(FsTest, LockWaitNamesTheHolderAndTimesOut) {
  FileLock held(dir() / "k.lock", "building kernel k");
  try {
    FileLock again(dir() / "k.lock", "", 1s);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Infrastructure);
    const std::string m = e.what();
    EXPECT_NE(m.find("k.lock"), std::string::npos) << m;
    EXPECT_NE(m.find("pid " + std::to_string(::getpid()) + ": building kernel k"), std::string::npos) << m;
  }
}

TEST_F(FsTest, LockWaitEndsOnAStopRequest) {
  FileLock held(dir() / "k.lock", "test");
  auto waiter = std::async(std::launch::async, [&] {
    try {
      FileLock again(dir() / "k.lock", "", std::chrono::hours(1));
      return std::string("acquired");
    } catch (const Interrupted&) {
      return std::string("interrupted");
    } catch (const std::exception&) {
      return std::string("other");
    }
  });
  std::this_thread::sleep_for(200ms);
  request_stop(SIGTERM);
  ASSERT_EQ(waiter.wait_for(60s), std::future_status::ready);
  EXPECT_EQ(waiter.get(), "interrupted");
}

TEST_F(FsTest, LockIsReleasedWithTheObject) {
  { FileLock a(dir() / "k.lock"); }
  FileLock b(dir() / "k.lock", "", 1s);  // would time out if still held
  SUCCEED();
}

TEST_F(FsTest, FreeSpaceCheckPassesWhatFitsAndNamesEverythingWhenNot) {
  const uintmax_t avail = fs::space(dir()).available;
  EXPECT_NO_THROW(require_free_space(dir() / "not/yet/made", 0, "nothing"));
  EXPECT_NO_THROW(require_free_space(dir(), avail / 2, "half"));
  try {
    require_free_space(dir() / "sub", avail + (1ull << 40), "importing x.tar.xz");
    FAIL() << "a terabyte more than is free was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Infrastructure);
    const std::string m = e.what();
    EXPECT_NE(m.find("importing x.tar.xz"), std::string::npos) << m;
    EXPECT_NE(m.find((dir() / "sub").string()), std::string::npos) << m;
    EXPECT_NE(m.find("GiB free"), std::string::npos) << m;
  }
}

TEST(CacheRoot, NeverAGuessableTmpPath) {
  const char* keep[] = {"RACEBISECT_CACHE", "XDG_CACHE_HOME", "HOME"};
  std::map<std::string, std::string> saved;
  for (const char* k : keep)
    if (const char* v = std::getenv(k)) saved[k] = v;
  for (const char* k : keep) ::unsetenv(k);
  const fs::path root = cache_root();
  for (auto& [k, v] : saved) ::setenv(k.c_str(), v.c_str(), 1);
  EXPECT_NE(root.string().rfind(fs::temp_directory_path().string(), 0), 0u) << root;
}

}  // namespace
}  // namespace rb
