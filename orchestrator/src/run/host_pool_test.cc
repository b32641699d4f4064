#include "run/host_pool.h"

#include <gtest/gtest.h>

#include "run/trial_runner.h"
#include "util/fs.h"

namespace rb::run {
namespace {

record::BootRecord boot_on(const std::string& host, bool failed) {
  record::BootRecord b;
  b.host = host;
  b.host_failed = failed;
  b.outcome = failed ? record::Outcome::Infra : record::Outcome::Pass;
  return b;
}

TEST(HostPool, WithoutHostsEveryJobIsALocalSlot) {
  HostPool p({}, 3);
  EXPECT_EQ(p.slot_hosts(), (std::vector<size_t>{0, 0, 0}));
  EXPECT_EQ(p.uri(0), "");
}

TEST(HostPool, SlotsOfHostsInterleave) {
  HostPool p({{"qemu:///system", 2}, {"qemu+ssh://h/system", 1}}, 0);
  EXPECT_EQ(p.slot_hosts(), (std::vector<size_t>{0, 1, 0}));
}

TEST(HostPool, WithoutACapEverySlotMayStart) {
  HostPool p({{"a", 2}, {"b", 1}}, 0);
  for (size_t slot = 0; slot < 3; ++slot) {
    EXPECT_TRUE(p.may_start(slot));
    p.started(slot);
  }
}

// --jobs below the pool's slots: no more boots at once than that, and the
// idle slots take turns, so that one VM at a time still reaches every host.
TEST(HostPool, UnderACapSlotsTakeTurnsAndNoMoreRunAtOnce) {
  HostPool p({{"a", 1}, {"b", 1}}, 1);
  std::vector<int> boots_on(2, 0);
  for (int round = 0; round < 6; ++round) {
    std::vector<size_t> allowed;
    for (size_t slot = 0; slot < 2; ++slot)
      if (p.may_start(slot)) allowed.push_back(slot);
    ASSERT_EQ(allowed.size(), 1u) << "round " << round;
    p.started(allowed[0]);
    EXPECT_FALSE(p.may_start(0));
    EXPECT_FALSE(p.may_start(1));
    ++boots_on[p.slot_hosts()[allowed[0]]];
    p.ended(allowed[0]);
  }
  EXPECT_EQ(boots_on, (std::vector<int>{3, 3}));
}

TEST(HostPool, UnderACapABusySlotDoesNotHoldTheTurn) {
  HostPool p({{"a", 1}, {"b", 1}, {"c", 1}}, 2);
  p.started(0);
  p.started(1);
  EXPECT_FALSE(p.may_start(2));  // two at once
  p.ended(1);
  ASSERT_TRUE(p.may_start(2));
  p.started(2);
  p.ended(2);
  // Slot 0 would be next but is still busy: the next idle slot goes.
  EXPECT_TRUE(p.may_start(1));
  EXPECT_FALSE(p.may_start(0));
}

TEST(HostPool, UnderACapADownHostLosesItsTurn) {
  HostPool p({{"a", 1}, {"b", 1}}, 1);
  ASSERT_TRUE(p.may_start(0));
  p.started(0);
  p.finished(0, {.kernel = 0, .trials = 1, .boot = 1}, 0, boot_on("a", true));
  p.ended(0);
  EXPECT_TRUE(p.may_start(1));
  p.started(1);
  p.ended(1);
  EXPECT_TRUE(p.may_start(1));
  EXPECT_FALSE(p.may_start(0));
}

TEST(HostPool, AFailedHostIsDownAndItsTaskRunsAgain) {
  HostPool p({{"a", 1}, {"b", 1}}, 0);
  const BootTask t{.kernel = 1, .trials = 4, .boot = 7};
  EXPECT_FALSE(p.finished(0, t, 0, boot_on("a", false)));
  EXPECT_FALSE(p.take_retry());
  EXPECT_TRUE(p.finished(1, t, 0, boot_on("b", true)));
  EXPECT_TRUE(p.up(0));
  EXPECT_FALSE(p.up(1));
  EXPECT_EQ(p.hosts()[1].boots, 1);
  EXPECT_NE(p.hosts()[1].reason, "");
  auto r = p.take_retry();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->task.kernel, 1u);
  EXPECT_EQ(r->task.boot, 7);
  EXPECT_EQ(r->task.trials, 4);
  EXPECT_EQ(r->attempt, 1);
  EXPECT_FALSE(p.take_retry());
}

TEST(HostPool, ARetryThatFailsAgainCountsItsAttempts) {
  HostPool p({{"a", 1}, {"b", 1}, {"c", 1}}, 0);
  const BootTask t{.kernel = 0, .trials = 1, .boot = 1};
  ASSERT_TRUE(p.finished(0, t, 0, boot_on("a", true)));
  auto r = p.take_retry();
  ASSERT_TRUE(r);
  ASSERT_TRUE(p.finished(1, r->task, r->attempt, boot_on("b", true)));
  r = p.take_retry();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attempt, 2);
}

TEST(HostPool, WithEveryHostDownTasksAreStranded) {
  HostPool p({{"a", 1}}, 0);
  ASSERT_TRUE(p.finished(0, {.kernel = 0, .trials = 1, .boot = 1}, 0, boot_on("a", true)));
  EXPECT_FALSE(p.take_retry());
  EXPECT_EQ(p.stranded(), 1u);
}

}  // namespace
}  // namespace rb::run

// ---- the trial runner on a pool host ----

namespace rb::run {
namespace {

// A host whose daemon is gone: the record is Infra, names the host, and says
// the host failed (so the boot loop runs it elsewhere).
TEST(PoolBoot, UnreachableHostGivesAnInfraRecordNamingIt) {
  TempDir dir(fs::temp_directory_path(), "rb-pool-unit");
  const std::string uri = "qemu+unix:///system?socket=" + (dir.path() / "no-daemon.sock").string();
  TrialRunner runner(dir.path() / "cache", dir.path() / "logs", vm::Accel::Tcg, "libvirt");
  BootRequest req{.label = "k", .index = 3, .kernel = dir.path() / "bzImage", .trials = 2, .host = uri, .attempt = 1};
  req.guest.test = "none";
  const BootRecord b = runner.boot(req);
  EXPECT_EQ(b.outcome, record::Outcome::Infra);
  EXPECT_TRUE(b.host_failed);
  EXPECT_EQ(b.host, uri);
  EXPECT_NE(b.detail.find(uri), std::string::npos) << b.detail;
  EXPECT_EQ(b.console_log.filename(), "k-3.r1.log");
}

}  // namespace
}  // namespace rb::run
