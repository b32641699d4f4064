// The guest contract, host side: every row of the contract table
// (testing/hostile_console.h, docs/BAD_INPUT.md) classified in-process, the
// same rows parsed in random chunks, and a bounded random corpus.
#include "run/classify.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "run/contract.h"
#include "testing/hostile_console.h"
#include "util/error.h"

namespace rb::run {
namespace {

using record::Outcome;
using testing::ScriptedConsole;

constexpr std::string_view kNonce = "feedc0de12345678";

void expect_verdict(const ScriptedConsole& c, const BootRecord& b) {
  SCOPED_TRACE(c.name);
  EXPECT_EQ(b.outcome, c.want.outcome) << to_string(b.outcome) << " vs " << to_string(c.want.outcome) << ": " << b.detail;
  EXPECT_EQ(b.passes(), c.want.passes) << b.detail;
  EXPECT_EQ(b.fails(), c.want.fails) << b.detail;
  EXPECT_NE(b.detail.find(c.want.detail), std::string::npos) << "detail: " << b.detail << "\nwant: " << c.want.detail;
  // A boot that breaks the contract never contributes to a rate.
  if (c.want.outcome != Outcome::Pass && c.want.outcome != Outcome::Fail && c.want.passes + c.want.fails == 0) {
    EXPECT_EQ(b.passes() + b.fails(), 0);
  }
}

TEST(GuestContract, EveryRowOfTheTable) {
  int rows = 0;
  for (const auto& c : testing::contract_rows()) {
    if (c.huge) continue;  // played through the stand-in QEMU (e2e), not held in memory here
    const console::Contract contract{std::string(kNonce), c.planned};
    expect_verdict(c, classify_console(testing::render(c.script, kNonce), c.end, contract));
    ++rows;
  }
  EXPECT_GE(rows, 28);
}

TEST(GuestContract, SameReportInAnyChunking) {
  std::mt19937 rng(7);
  for (const auto& c : testing::contract_rows()) {
    if (c.huge) continue;
    SCOPED_TRACE(c.name);
    const console::Contract contract{std::string(kNonce), c.planned};
    const std::string text = testing::render(c.script, kNonce);
    const auto whole = console::parse_console(text, contract);
    for (size_t max_chunk : {1u, 3u, 17u, 4096u}) {
      console::ConsoleParser p(contract);
      for (size_t at = 0; at < text.size();) {
        const size_t n = std::min<size_t>(1 + rng() % max_chunk, text.size() - at);
        p.feed(std::string_view(text).substr(at, n));
        at += n;
      }
      p.finish();
      EXPECT_TRUE(p.report() == whole) << "chunks of up to " << max_chunk;
    }
  }
}

TEST(GuestContract, BoundedRandomCorpus) {
  // The bench (bench/hostile_corpus.cc) plays >= 10,000 of these through the
  // real binary; here a bounded set runs in-process on every test run.
  std::mt19937_64 rng(20261125);
  int played = 0, counted = 0;
  while (played < 400) {
    const ScriptedConsole c = testing::random_console(rng);
    if (c.huge) continue;
    const console::Contract contract{std::string(kNonce), c.planned};
    const BootRecord b = classify_console(testing::render(c.script, kNonce), c.end, contract);
    expect_verdict(c, b);
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "script:\n" << c.script;
      return;
    }
    counted += b.outcome == Outcome::Pass || b.outcome == Outcome::Fail;
    ++played;
  }
  // Both kinds were generated (valid and attacked).
  EXPECT_GT(counted, 50);
  EXPECT_LT(counted, 350);
}

TEST(GuestContract, MarkersWithoutTheNonceAreForged) {
  // A whole valid run whose markers carry no nonce (or another boot's).
  const auto rows = testing::contract_rows();
  const auto valid = std::find_if(rows.begin(), rows.end(), [](auto& r) { return r.name == "valid-pass"; });
  ASSERT_NE(valid, rows.end());
  for (std::string_view other : {"", "0000000000000000"}) {
    const auto b = classify_console(testing::render(valid->script, other), vm::BootEnd::Exited,
                                    {std::string(kNonce), 4});
    EXPECT_EQ(b.outcome, Outcome::Infra) << b.detail;
    EXPECT_EQ(b.passes() + b.fails(), 0);
    EXPECT_NE(b.detail.find("without this boot's nonce"), std::string::npos) << b.detail;
  }
}

TEST(GuestContract, DerivedFromTheCommandLine) {
  Args args{{"trials", "6"}, {"variant", "missing"}};
  const std::string cmd = guest_cmdline(64, "uffd-race", args, "0123abcd");
  EXPECT_EQ(cmd,
            "console=ttyS0 oops=panic panic=-1 printk.devkmsg=on log_buf_len=4M hugepages=64 rb.test=uffd-race rb.nonce=0123abcd "
            "rb.args=trials=6,variant=missing");
  const auto c = contract_for(cmd);
  EXPECT_EQ(c.nonce, "0123abcd");
  EXPECT_EQ(c.planned, 6);
  EXPECT_EQ(contract_for("rb.test=none rb.nonce=ab").planned, 0);
  EXPECT_EQ(contract_for("rb.test=x rb.args=seed=1").planned, std::nullopt);
  // The first word wins, as in /init.
  EXPECT_EQ(contract_for("rb.test=x rb.args=trials=2 rb.args=trials=9").planned, 2);
  // Fresh and unguessable per boot.
  const std::string a = new_nonce(), b = new_nonce();
  EXPECT_EQ(a.size(), 16u);
  EXPECT_NE(a, b);
  EXPECT_NE(guest_cmdline(64, "t", {}), guest_cmdline(64, "t", {}));
}

TEST(GuestContract, CommandLineInjectionIsRefused) {
  struct Row {
    Args args;
    std::string test;
  } rows[] = {
      {{{"seed", "1\tinit=/bin/sh"}}, "uffd-race"},
      {{{"seed", "1\ninit=/bin/sh"}}, "uffd-race"},
      {{{"seed", "1 init=/bin/sh"}}, "uffd-race"},
      {{{"seed", "1,trials=99"}}, "uffd-race"},
      {{{"seed", "\"x"}}, "uffd-race"},
      {{{"se ed", "1"}}, "uffd-race"},
      {{{"seed", "caf\xc3\xa9"}}, "uffd-race"},
      {{{"seed", std::string(300, '1')}}, "uffd-race"},
      {{}, "../bin/sh"},
      {{}, "a b"},
  };
  for (const auto& r : rows) {
    try {
      guest_cmdline(64, r.test, r.args, "00");
      ADD_FAILURE() << "accepted " << r.test << " " << (r.args.empty() ? "" : r.args.begin()->second);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Usage) << e.what();
    }
  }
  Args many;
  for (int i = 0; i < 40; ++i) many["k" + std::to_string(i)] = std::string(60, 'v');
  EXPECT_THROW(guest_cmdline(64, "t", many, "00"), Error);
}

TEST(GuestContract, ClassifiesTheConsoleFileFromItsStart) {
  // A 70 MB console whose test finished at the start is judged on that
  // start; before, the last 64 MiB were read and the markers were gone.
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("rb-classify-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto rows = testing::contract_rows();
  const auto it = std::find_if(rows.begin(), rows.end(), [](auto& r) { return r.name == "flood-after-exit"; });
  ASSERT_NE(it, rows.end());
  vm::BootSpec spec;
  spec.console_log = dir / "console.log";
  spec.cmdline = "console=ttyS0 rb.test=uffd-race rb.nonce=" + std::string(kNonce) + " rb.args=trials=4";
  {
    std::ofstream out(spec.console_log, std::ios::binary);
    testing::play(it->script, kNonce, [&](std::string_view s) { out.write(s.data(), static_cast<std::streamsize>(s.size())); });
  }
  ASSERT_GT(fs::file_size(spec.console_log), spec.console_cap);
  expect_verdict(*it, classify_boot_file(spec, vm::BootEnd::ConsoleFull));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace rb::run
