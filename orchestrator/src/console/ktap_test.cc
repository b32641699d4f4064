#include "console/ktap.h"

#include <gtest/gtest.h>

#include <string>

namespace rb::console {
namespace {

KtapReport feed(std::initializer_list<std::string_view> lines) {
  KtapReport r;
  KtapParser p;
  size_t n = 0;
  for (auto l : lines) p.add_line(l, ++n, r);
  return r;
}

TEST(KtapResultLine, PassWithFields) {
  auto t = parse_result_line("ok 1 trial events=0 bogus=0 toggles=8123 reads=123456 ms=3000");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->number, 1);
  EXPECT_TRUE(t->ok);
  EXPECT_EQ(t->status, TrialStatus::Pass);
  EXPECT_EQ(t->name, "trial");
  EXPECT_EQ(t->fields.size(), 5u);
  EXPECT_EQ(t->get("toggles"), "8123");
  EXPECT_EQ(t->get_int("reads", -1), 123456);
  EXPECT_EQ(t->get_int("first_bogus_ms", -1), -1);
  EXPECT_FALSE(t->has("first_bogus_ms"));
  EXPECT_EQ(t->directive, "");
  EXPECT_EQ(t->reason, "");
}

TEST(KtapResultLine, FailWithFirstBogus) {
  auto t = parse_result_line("not ok 2 trial events=5 bogus=5 toggles=400 reads=9000 ms=340 first_bogus_ms=340");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->number, 2);
  EXPECT_FALSE(t->ok);
  EXPECT_EQ(t->status, TrialStatus::Fail);
  EXPECT_EQ(t->get_int("bogus", 0), 5);
  EXPECT_EQ(t->get_int("first_bogus_ms", -1), 340);
}

TEST(KtapResultLine, Directives) {
  struct Case {
    const char* line;
    TrialStatus status;
    const char* directive;
    const char* reason;
  } cases[] = {
      {"ok 3 trial # SKIP some reason", TrialStatus::Skip, "SKIP", "some reason"},
      {"not ok 3 trial # skip lower case", TrialStatus::Skip, "SKIP", "lower case"},
      {"not ok 4 trial # ERROR env: hugepages got 0 expected 32", TrialStatus::Error, "ERROR",
       "env: hugepages got 0 expected 32"},
      {"ok 4 trial # Error ok does not make an error a pass", TrialStatus::Error, "ERROR",
       "ok does not make an error a pass"},
      {"not ok 5 trial # TIMEOUT", TrialStatus::Error, "TIMEOUT", "TIMEOUT"},
      {"not ok 6 trial # TODO not written", TrialStatus::Skip, "TODO", "not written"},
      {"not ok 7 trial # XFAIL known", TrialStatus::Skip, "XFAIL", "known"},
      {"not ok 8 trial # just a comment", TrialStatus::Fail, "", "just a comment"},
      {"ok 9 trial events=1 # note", TrialStatus::Pass, "", "note"},
      {"ok 10 trial #SKIP no space", TrialStatus::Skip, "SKIP", "no space"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.line);
    auto t = parse_result_line(c.line);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->status, c.status);
    EXPECT_EQ(t->directive, c.directive);
    EXPECT_EQ(t->reason, c.reason);
    EXPECT_EQ(t->name, "trial");
  }
  EXPECT_EQ(trial_status(true, "xfail"), TrialStatus::Skip);
  EXPECT_EQ(trial_status(false, "Timeout"), TrialStatus::Error);
  EXPECT_EQ(trial_status(false, "whatever"), TrialStatus::Fail);
}

TEST(KtapResultLine, HashInsideAWordIsNotADirective) {
  auto t = parse_result_line("ok 1 trial tag=a#b");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->get("tag"), "a#b");
  EXPECT_EQ(t->directive, "");
}

TEST(KtapResultLine, TapStyleDashAndMultiWordName) {
  auto t = parse_result_line("ok 5 - trial run events=0");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->name, "trial run");
  EXPECT_EQ(t->get_int("events", -1), 0);
  auto bare = parse_result_line("not ok 7");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->number, 7);
  EXPECT_EQ(bare->name, "");
  EXPECT_EQ(bare->status, TrialStatus::Fail);
}

TEST(KtapResultLine, KernelTextGluedOnIsCutAtTheTimestamp) {
  auto t = parse_result_line(
      "not ok 2 trial events=5 bogus=5 ms=340[    5.987654] hugetlbfs: uffd-race (60): Using mlock ulimits");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->get("ms"), "340");
  EXPECT_EQ(t->fields.size(), 3u);
  EXPECT_EQ(t->status, TrialStatus::Fail);
  // A bracket that is not a timestamp stays.
  auto u = parse_result_line("ok 3 trial note=[x] ms=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->get("ms"), "1");
}

// parse_result_line alone: the console parser strips one printk prefix
// first, so there "[ 1.0] ok 1 trial" is a result (console_report_test.cc).
TEST(KtapResultLine, NotResults) {
  for (const char* l : {"okay 1 trial", "ok", "ok ", "ok x trial", "ok 3x trial", "not ok -1 trial",
                        "not ok 99999999999 trial", " ok 1 trial", "xok 1 trial", "[ 1.0] ok 1 trial", "Ok 1 trial",
                        "not  ok 1 trial", ""}) {
    SCOPED_TRACE(l);
    EXPECT_FALSE(parse_result_line(l));
  }
}

TEST(KtapFields, Parsing) {
  auto f = parse_fields("a=1 b= =c  d=x=y a=2 plain\tt=tab");
  EXPECT_EQ(f.size(), 4u);
  EXPECT_EQ(f["a"], "1");  // first wins
  EXPECT_EQ(f["b"], "");
  EXPECT_EQ(f["d"], "x=y");
  EXPECT_EQ(f["t"], "tab");
  EXPECT_EQ(f.count("plain"), 0u);
}

TEST(KtapFields, Integers) {
  EXPECT_EQ(parse_int64("0"), 0);
  EXPECT_EQ(parse_int64("-17"), -17);
  EXPECT_EQ(parse_int64("+5"), 5);
  EXPECT_EQ(parse_int64("0x1fe"), 0x1fe);
  EXPECT_EQ(parse_int64("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(parse_int64("-9223372036854775808"), INT64_MIN);
  EXPECT_FALSE(parse_int64("9223372036854775808"));
  EXPECT_FALSE(parse_int64("99999999999999999999999"));
  EXPECT_FALSE(parse_int64(""));
  EXPECT_FALSE(parse_int64("-"));
  EXPECT_FALSE(parse_int64("12ms"));
  EXPECT_FALSE(parse_int64("0x"));
  EXPECT_FALSE(parse_int64(" 1"));
  Trial t;
  t.fields = {{"ms", "12ms"}, {"x", "0x10"}};
  EXPECT_EQ(t.get_int("ms", 7), 7);
  EXPECT_EQ(t.get_int("x", 7), 16);
  EXPECT_FALSE(t.int_field("nope"));
}

TEST(KtapParser, Document) {
  auto r = feed({"KTAP version 1", "# uffd-race variant=missing mapping=noreserve pages=32",
                 "# env cpus=2 hugepages_total=64 hugepages_free=64 uffd_features=0x1fe", "1..10",
                 "ok 1 trial events=0 bogus=0 toggles=8123 reads=123456 ms=3000",
                 "not ok 2 trial events=5 bogus=5 toggles=400 reads=9000 ms=340 first_bogus_ms=340",
                 "ok 3 trial # SKIP some reason", "not ok 4 trial # ERROR env: hugepages got 0 expected 32",
                 "# summary trials=10 failed=1"});
  EXPECT_TRUE(r.ktap_seen);
  EXPECT_EQ(r.ktap_version, 1);
  EXPECT_EQ(r.plan, 10);
  ASSERT_EQ(r.trials.size(), 4u);
  EXPECT_EQ(r.trials[0].status, TrialStatus::Pass);
  EXPECT_EQ(r.trials[1].status, TrialStatus::Fail);
  EXPECT_EQ(r.trials[2].status, TrialStatus::Skip);
  EXPECT_EQ(r.trials[3].status, TrialStatus::Error);
  EXPECT_EQ(r.trials[3].line, 8u);
  EXPECT_TRUE(r.incomplete);
  EXPECT_EQ(r.missing, 6);
  EXPECT_EQ(r.anomalies, 0);
  EXPECT_EQ(r.env.at("uffd_features"), "0x1fe");
  EXPECT_EQ(r.env.at("hugepages_free"), "64");
  EXPECT_EQ(r.env.size(), 4u);
  EXPECT_EQ(r.summary.at("failed"), "1");
  ASSERT_EQ(r.diagnostics.size(), 3u);
  EXPECT_EQ(r.diagnostics[0], "uffd-race variant=missing mapping=noreserve pages=32");
}

TEST(KtapParser, CompleteWhenEveryPlannedResultArrived) {
  auto r = feed({"KTAP version 1", "1..2", "ok 1 trial", "ok 2 trial"});
  EXPECT_FALSE(r.incomplete);
  EXPECT_EQ(r.missing, 0);
  EXPECT_TRUE(r.violations.empty());
}

TEST(KtapParser, NumbersMustIncrease) {
  // KTAP numbers results in order; a test that does not is not trusted.
  auto r = feed({"KTAP version 1", "1..3", "ok 2 trial", "ok 1 trial", "ok 3 trial"});
  ASSERT_EQ(r.trials.size(), 2u);
  EXPECT_EQ(r.trials[0].number, 2);
  EXPECT_EQ(r.trials[1].number, 3);
  ASSERT_EQ(r.violations.size(), 1u);
  EXPECT_EQ(r.violations[0], "line 4: result 1 after result 2 (numbers must increase)");
}

TEST(KtapParser, SkippedPlan) {
  auto r = feed({"KTAP version 1", "1..0 # SKIP usage: variant must be missing or minor"});
  EXPECT_EQ(r.plan, 0);
  EXPECT_EQ(r.plan_skip_reason, "usage: variant must be missing or minor");
  EXPECT_FALSE(r.incomplete);
  EXPECT_EQ(r.missing, 0);
  EXPECT_TRUE(r.trials.empty());
}

TEST(KtapParser, DuplicatesKeepTheFirstAndAreViolations) {
  auto r = feed({"KTAP version 1", "1..3", "ok 1 trial ms=1", "not ok 1 trial ms=2", "ok 1 trial ms=3"});
  ASSERT_EQ(r.trials.size(), 1u);
  EXPECT_EQ(r.trials[0].get("ms"), "1");
  EXPECT_EQ(r.trials[0].status, TrialStatus::Pass);
  EXPECT_EQ(r.violation_count, 2);
  EXPECT_EQ(r.anomalies, 0);
  EXPECT_EQ(r.missing, 2);
}

TEST(KtapParser, ResultsBeforeTheTestStartedAreNotTrials) {
  KtapReport r;
  KtapParser p;
  p.add_line("ok 1 trial", 1, r);
  EXPECT_TRUE(r.trials.empty());
  EXPECT_EQ(r.anomalies, 1);
  EXPECT_FALSE(r.incomplete);
  p.start_test();  // our /init's exec marker
  p.add_line("ok 1 trial", 2, r);
  EXPECT_EQ(r.trials.size(), 1u);
  EXPECT_TRUE(r.incomplete);  // no plan yet
  EXPECT_FALSE(r.ktap_seen);
}

TEST(KtapParser, IndentedSubtestsAreIgnored) {
  auto r = feed({"KTAP version 1", "1..1", "  KTAP version 1", "  # Subtest: inner", "  1..2", "  ok 1 inner",
                 "  not ok 2 inner", "\tnot ok 3 inner", "ok 1 outer"});
  ASSERT_EQ(r.trials.size(), 1u);
  EXPECT_EQ(r.trials[0].name, "outer");
  EXPECT_EQ(r.plan, 1);
  EXPECT_EQ(r.anomalies, 0);
  EXPECT_TRUE(r.diagnostics.empty());
}

TEST(KtapParser, OddNumbersAndSecondPlan) {
  auto r = feed({"KTAP version 1", "1..2", "ok 0 trial", "ok 3 trial", "1..5", "KTAP version 1", "ok 1 trial"});
  // ok 0, ok 3 (beyond the plan), the second plan and header are violations.
  EXPECT_EQ(r.plan, 2);
  ASSERT_EQ(r.trials.size(), 1u);
  EXPECT_EQ(r.trials[0].number, 1);
  EXPECT_EQ(r.violations, (std::vector<std::string>{"line 3: result numbered 0",
                                                    "line 4: result 3 beyond the plan 1..2",
                                                    "line 5: a second plan 1..5",
                                                    "line 6: a second KTAP document"}));
  EXPECT_EQ(r.missing, 1);
}

TEST(KtapParser, LatePlanDropsResultsBeyondIt) {
  auto r = feed({"KTAP version 1", "ok 1 trial", "ok 2 trial", "ok 7 trial", "1..4"});
  EXPECT_EQ(r.plan, 4);
  ASSERT_EQ(r.trials.size(), 2u);  // 7 is not counted
  EXPECT_EQ(r.missing, 2);
  EXPECT_TRUE(r.incomplete);
  EXPECT_EQ(r.violations, (std::vector<std::string>{"line 5: plan 1..4 after result 7"}));
}

TEST(KtapParser, UnterminatedLastResultNeedsMoreThanItsNumber) {
  KtapReport r;
  KtapParser p;
  p.add_line("KTAP version 1", 1, r);
  p.add_line("1..12", 2, r);
  p.add_line("ok 1", 3, r, /*complete=*/false);  // perhaps "ok 12 ..." cut short
  EXPECT_TRUE(r.trials.empty());
  p.add_line("ok 1", 4, r, /*complete=*/true);  // a whole line "ok 1" is a result
  EXPECT_EQ(r.trials.size(), 1u);
  p.add_line("ok 2 tri", 5, r, /*complete=*/false);
  EXPECT_EQ(r.trials.size(), 2u);
}

TEST(KtapParser, EnvMapAndTapVersion) {
  auto r = feed({"TAP version 14", "# env cpus=2", "# env cpus=4 extra=1", "#envelope=1", "1..1"});
  EXPECT_TRUE(r.ktap_seen);
  EXPECT_EQ(r.ktap_version, 14);
  EXPECT_EQ(r.env.at("cpus"), "2");  // first wins
  EXPECT_EQ(r.env.at("extra"), "1");
  EXPECT_EQ(r.env.size(), 2u);
}

TEST(KtapParser, WholeTextConvenience) {
  auto r = parse_ktap("KTAP version 1\r\n1..2\r\nok 1 trial ms=5\r\n\x1b[0mnot ok 2 trial ms=6\r\n");
  ASSERT_EQ(r.trials.size(), 2u);
  EXPECT_EQ(r.trials[0].get("ms"), "5");
  EXPECT_EQ(r.trials[1].status, TrialStatus::Fail);
  EXPECT_FALSE(r.incomplete);
}

TEST(KtapParser, ManyResultsStayLinearAndBounded) {
  KtapReport r;
  KtapParser p;
  p.add_line("KTAP version 1", 1, r);
  p.add_line("1..100000", 2, r);
  for (int i = 1; i <= 100000; ++i) p.add_line("ok " + std::to_string(i) + " trial", i + 2, r);
  EXPECT_EQ(r.trials.size(), KtapParser::kMaxTrials);
  EXPECT_EQ(r.violation_count, 100000 - static_cast<int>(KtapParser::kMaxTrials));
  EXPECT_EQ(r.violations.size(), kMaxViolations);
  EXPECT_EQ(r.missing, 100000 - static_cast<int>(KtapParser::kMaxTrials));
}

}  // namespace
}  // namespace rb::console
