#include "report/hosts.h"

#include <gtest/gtest.h>

namespace rb::report {
namespace {

record::BootRecord boot(const std::string& host, int passes, int fails, bool host_failed = false) {
  record::BootRecord b;
  b.host = host;
  b.host_failed = host_failed;
  b.outcome = host_failed ? record::Outcome::Infra : fails ? record::Outcome::Fail : record::Outcome::Pass;
  for (int i = 0; i < passes + fails; ++i) {
    record::TrialRecord t;
    t.outcome = i < fails ? record::Outcome::Fail : record::Outcome::Pass;
    b.trials.push_back(t);
  }
  return b;
}

run::CampaignResult pool_run() {
  run::CampaignResult r;
  r.hosts = {{.uri = "qemu:///system", .slots = 1, .boots = 2},
             {.uri = "qemu+ssh://root@localhost:2222/system", .slots = 1, .boots = 2, .down = true,
              .reason = "host qemu+ssh://root@localhost:2222/system failed: lost the connection"}};
  run::KernelRun k;
  k.boots = {boot("qemu:///system", 3, 1), boot("qemu+ssh://root@localhost:2222/system", 4, 0),
             boot("qemu+ssh://root@localhost:2222/system", 1, 1, true), boot("qemu:///system", 2, 0)};
  r.kernels.push_back(k);
  return r;
}

TEST(Hosts, CountsEachHostsBootsAndSaysWhichWentDown) {
  const auto hs = summarize_hosts(pool_run());
  ASSERT_EQ(hs.size(), 2u);
  EXPECT_EQ(hs[0].boots, 2);
  EXPECT_EQ(hs[0].trials, 6);
  EXPECT_EQ(hs[0].failures, 1);
  EXPECT_FALSE(hs[0].down);
  EXPECT_EQ(hs[1].boots, 2);
  EXPECT_EQ(hs[1].infra_boots, 1);
  // A failed host's boot is infrastructure: its trials are not the host's evidence.
  EXPECT_EQ(hs[1].trials, 4);
  EXPECT_EQ(hs[1].failures, 0);
  EXPECT_TRUE(hs[1].down);
}

TEST(Hosts, TextAndJsonNameEveryHost) {
  const auto r = pool_run();
  const std::string text = hosts_text(r);
  EXPECT_NE(text.find("qemu:///system"), std::string::npos) << text;
  EXPECT_NE(text.find("DOWN"), std::string::npos) << text;
  EXPECT_NE(text.find("lost the connection"), std::string::npos) << text;
  const auto j = hosts_json(r);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[1]["uri"], "qemu+ssh://root@localhost:2222/system");
  EXPECT_EQ(j[1]["down"], true);
  EXPECT_EQ(j[1]["infra_boots"], 1);
}

TEST(Hosts, NothingForADirectQemuRun) {
  run::CampaignResult r;
  r.hosts = {{.uri = "", .slots = 2, .boots = 3}};
  EXPECT_EQ(hosts_text(r), "");
}

}  // namespace
}  // namespace rb::report
