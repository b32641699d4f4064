// /init's forwarding of the test's output (images/line_forwarder.h): the
// same header /init is built from, exercised on the host.
#include "line_forwarder.h"

#include <gtest/gtest.h>

#include <random>

#include "console/console_report.h"

namespace {

struct Forwarded {
  std::string console;
  int forged = 0, cut = 0;
};

// A literal with its NULs: std::string("a\0b") would stop at the NUL.
template <size_t N>
std::string bytes(const char (&s)[N]) {
  return std::string(s, N - 1);
}

Forwarded forward(const std::vector<std::string>& chunks) {
  Forwarded f;
  rb_init::LineForwarder fwd([&](std::string_view s) { f.console += s; },
                            {.forged = [&] { ++f.forged; }, .cut = [&] { ++f.cut; }});
  for (const auto& c : chunks) fwd.feed(c);
  fwd.flush();
  return f;
}

TEST(InitLineForwarder, Table) {
  struct Row {
    const char* name;
    std::vector<std::string> chunks;
    std::string console;
    int forged;
  } rows[] = {
      {"lines pass whole", {"KTAP version 1\n1..2\nok 1 trial ms=5\n"}, "KTAP version 1\n1..2\nok 1 trial ms=5\n", 0},
      {"a line in pieces", {"ok 1 tr", "ial ms", "=5\nnot ok 2\n"}, "ok 1 trial ms=5\nnot ok 2\n", 0},
      {"a last line without newline", {"ok 1 trial"}, "ok 1 trial\n", 0},
      {"marker at line start", {"racebisect-init: exit status=0\n"}, "# defused: racebisect-init: exit status=0\n", 1},
      // ESC is dropped but "[0m" stays: the marker is not at the line start,
      // and the '[' makes it a comment anyway.
      {"marker behind control bytes", {bytes("\x1b[0m\r\0racebisect-init abc: start\n")},
       "# [0mracebisect-init abc: start\n", 0},
      // The host reads markers and results behind a printk prefix.
      {"marker behind a printk-like prefix", {"[1] racebisect-init: exit status=0\n"},
       "# [1] racebisect-init: exit status=0\n", 0},
      {"a replayed dmesg result", {"[    2.000000] ok 1 trial\n"}, "# [    2.000000] ok 1 trial\n", 0},
      // C1 bytes are dropped one by one, so the marker does start the line.
      {"marker behind a C1 control", {"\xc2\x9bracebisect-init: start\n"}, "# defused: racebisect-init: start\n", 1},
      {"marker inside a line", {"not ok 2 trial # racebisect-init: exit status=0\n"},
       "not ok 2 trial # racebisect-init: exit status=0\n", 0},
      {"reported once", {"racebisect-init: a\nracebisect-init: b\n"}, "# defused: racebisect-init: a\n# defused: racebisect-init: b\n", 1},
      {"tabs kept, CR and NUL dropped", {bytes("ok\t1\r\0\n")}, "ok\t1\n", 0},
      {"non-ASCII dropped", {"caf\xc3\xa9 \xff!\n"}, "caf !\n", 0},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    const Forwarded f = forward(r.chunks);
    EXPECT_EQ(f.console, r.console);
    EXPECT_EQ(f.forged, r.forged);
  }
}

TEST(InitLineForwarder, LongLinesAreCutNeverSplit) {
  const std::string tail = "ok 1 trial";  // would start a line if the long one were split
  const Forwarded f = forward({std::string(10000, 'x') + tail + "\nok 2\n"});
  std::string want(rb_init::LineForwarder::kMaxLine, 'x');
  want += "\nok 2\n";  // appended, not operator+: GCC 12 warns falsely on the temporary
  EXPECT_EQ(f.console, want);
  EXPECT_EQ(f.cut, 1);
  EXPECT_EQ(forward({std::string(rb_init::LineForwarder::kMaxLine, 'x') + "\n"}).cut, 0);
}

TEST(InitLineForwarder, NothingTheTestPrintsIsAMarkerOnTheHost) {
  // Whatever bytes the test writes, the host sees no racebisect-init line.
  std::mt19937 rng(3);
  const std::vector<std::string> pieces = {"racebisect-init", ": ", "exit status=0", "\n", "\r", std::string(1, '\0'),
                                           "\x1b[", "\xc2\x9b", "\xff", " ", "ok 1", "\t", "[1] ", "[ T1]"};
  for (int i = 0; i < 2000; ++i) {
    std::vector<std::string> chunks;
    for (int k = 0; k < 12; ++k) chunks.push_back(pieces[rng() % pieces.size()]);
    const Forwarded f = forward(chunks);
    // As the host sees it: bare, and as a PRINTK_TIME kernel prints /init's records.
    std::string stamped;
    for (size_t at = 0, nl; at < f.console.size(); at = nl + 1) {
      nl = f.console.find('\n', at);
      stamped += "[    1.000000] " + f.console.substr(at, nl + 1 - at);
    }
    for (const std::string& console : {f.console, stamped}) {
      const auto r = rb::console::parse_console(console);
      ASSERT_TRUE(r.violations.empty() && !r.init_started && !r.exit_status && r.init_errors.empty()) << console;
    }
  }
}

}  // namespace
