// The bad-input table (docs/BAD_INPUT.md), row by row through the real
// binary: each must exit with the bad-input code (2; 128 for bisect-step),
// with a message naming the input, before any work. "Before any work" is
// checked, not assumed: a stand-in `make` and `qemu-system-x86_64` come
// first on PATH and record if they are ever started, the kernel source
// does not exist (a row that slipped through fails on that, with the wrong
// message), and the cache directory must stay without builds or images.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>

#include "testing/e2e_binary.h"
#include "testing/spawn.h"
#include "util/fs.h"

namespace rb {
namespace {

namespace fs = std::filesystem;

using testing::e2e_binary;

struct Row {
  std::vector<std::string> args;  // after "racebisect"; "@D" = a scratch directory, "@F" = a regular file, "@C" = a case file
  std::string case_text;          // the case file written to @C (if used)
  int code;
  std::string message;            // must appear in the output ("@D"/"@F" substituted)
};

const std::string kCase = R"(name = "demo"
source = "/nonexistent/rb-bad-input.tar.xz"
[guest]
test = "uffd-race"
trials = 4
hugepages = 64
[[kernels]]
label = "unpatched"
role = "bug"
[[kernels]]
label = "patched"
role = "fixed"
)";

std::string with(std::string s, const std::string& from, const std::string& to) {
  return s.replace(s.find(from), from.size(), to);
}

const std::vector<Row>& rows() {
  static const std::vector<Row> table = {
      // Labels and names are path parts.
      {{"reproduce", "--kernel", "../../x,bug"}, "", 2, "--kernel label '../../x'"},
      {{"reproduce", "--kernel", "/tmp/x,bug"}, "", 2, "--kernel label '/tmp/x'"},
      {{"reproduce", "--kernel", "a,bug", "--kernel", "a,fixed"}, "", 2, "kernel label 'a': used twice"},
      {{"reproduce", "--case", "@C"}, with(kCase, "label = \"patched\"", "label = \"unpatched\""), 2,
       "case.toml:11:9: kernel label 'unpatched' used twice"},
      {{"reproduce", "--case", "@C"}, with(kCase, "label = \"patched\"", "label = \"../../x\""), 2,
       "case.toml:11:9: kernel label '../../x'"},
      {{"reproduce", "--case", "@C"}, with(kCase, "name = \"demo\"", "name = \"../evil\""), 2,
       "case.toml:1:8: case name '../evil'"},
      {{"build", "--only", "../x"}, "", 2, "--only '../x'"},
      // Case files.
      {{"reproduce", "--case", "@D"}, "", 2, "--case '@D': is a directory, not a file"},
      {{"reproduce", "--case", "@C"}, with(kCase, "trials = 4", "trials = \"abc\""), 2,
       "case.toml:5:10: guest.trials must be an integer, not a string"},
      {{"reproduce", "--case", "@C"}, with(kCase, "hugepages = 64", "hugepages = 1.5"), 2,
       "case.toml:6:13: guest.hugepages must be an integer, not a float"},
      {{"reproduce", "--case", "@C"}, with(kCase, "trials = 4", "trails = 4"), 2,
       "case.toml:5:1: unknown key 'trails' in [guest] (did you mean 'trials'?)"},
      {{"build", "--case", "@C"}, with(kCase, "trials = 4", "trails = 4"), 2, "unknown key 'trails'"},
      {{"bisect-step", "--case", "@C"}, with(kCase, "trials = 4", "trails = 4"), 128, "unknown key 'trails'"},
      // Guest arguments reach the kernel command line.
      {{"reproduce", "--arg", "seed=1\tinit=/bin/sh"}, "", 2, "guest argument seed '1\\tinit=/bin/sh'"},
      {{"reproduce", "--arg", "seed=1\ninit=/bin/sh"}, "", 2, "guest argument seed '1\\ninit=/bin/sh'"},
      {{"reproduce", "--arg", "x=a b"}, "", 2, "guest argument x 'a b'"},
      {{"reproduce", "--arg", "x=caf\xc3\xa9"}, "", 2, "guest argument x 'caf\\xc3\\xa9'"},
      {{"reproduce", "--arg", "noequals"}, "", 2, "--arg 'noequals': expected KEY=VALUE"},
      {{"reproduce", "--variant", "a,b"}, "", 2, "guest argument variant 'a,b'"},
      {{"reproduce", "--case", "@C"}, kCase + "[guest.args]\nx = \"1\\tinit=/bin/sh\"\n", 2,
       "guest argument x '1\\tinit=/bin/sh'"},
      {{"boot", "--kernel", "@F", "--arg", "seed=1\tinit=/bin/sh"}, "", 2, "guest argument seed '1\\tinit=/bin/sh'"},
      {{"boot", "--kernel", "@F", "--append", "quiet\ninit=/bin/sh"}, "", 2, "--append 'quiet\\ninit=/bin/sh'"},
      {{"boot", "--kernel", "@F", "--append", "rb.nonce=0"}, "", 2, "rb.* parameters are set by racebisect"},
      {{"boot", "--kernel", "@F", "--test", "../../bin/sh"}, "", 2, "guest test '../../bin/sh'"},
      {{"bisect-step", "--arg", "x=a b"}, "", 128, "guest argument x 'a b'"},
      // Numbers and statistics options.
      {{"reproduce", "--fixed-factor", "0"}, "", 2, "--fixed-factor '0': must be between"},
      {{"reproduce", "--confidence", "5"}, "", 2, "--confidence '5': must be strictly between 0 and 1"},
      {{"reproduce", "--significance", "0"}, "", 2, "--significance '0'"},
      {{"reproduce", "--trials", "0"}, "", 2, "--trials '0'"},
      {{"reproduce", "--trials", "20000"}, "", 2, "--trials '20000'"},
      {{"reproduce", "--boots", "0"}, "", 2, "--boots '0'"},
      {{"reproduce", "--duration-ms", "0"}, "", 2, "--duration-ms '0'"},
      {{"reproduce", "--vcpus", "0"}, "", 2, "--vcpus '0'"},
      {{"reproduce", "--hugepages", "-1"}, "", 2, "--hugepages '-1'"},
      {{"reproduce", "--jobs", "1000"}, "", 2, "--jobs '1000'"},
      {{"boot", "--kernel", "@F", "--timeout", "-5"}, "", 2, "--timeout '-5'"},
      {{"boot", "--kernel", "@F", "--no-output-timeout", "0"}, "", 2, "--no-output-timeout '0'"},
      {{"bisect-step", "--p1", "2"}, "", 128, "--p1 '2'"},
      {{"bisect", "--good", "a", "--bad", "b", "--slots", "1000"}, "", 2, "--slots '1000'"},
      {{"bisect", "--good", "a", "--bad", "b", "--confidence", "5"}, "", 2, "--confidence '5'"},
      {{"bisect", "--good", "a", "--bad", "b", "--confidence", "0.5"}, "", 2,
       "--confidence '0.5': must be strictly between 0.5 and 1"},
      {{"bisect", "--good", "a", "--bad", "b", "--min-rate", "0"}, "", 2, "--min-rate '0': must be strictly between 0 and 1"},
      {{"bisect", "--good", "a", "--bad", "b", "--clean-power", "1"}, "", 2,
       "--clean-power '1': must be strictly between 0 and 1"},
      {{"bisect-step", "--min-rate", "2"}, "", 128, "--min-rate '2': must be strictly between 0 and 1"},
      {{"build", "--jobs", "0"}, "", 2, "--jobs '0'"},
      // Pool hosts (--connect URI[,slots=N]).
      {{"reproduce", "--connect", "localhost"}, "", 2, "--connect 'localhost': not a libvirt URI"},
      {{"reproduce", "--connect", "qemu:///system,slots=0"}, "", 2, "slots must be a whole number"},
      {{"nightly", "--connect", "qemu:///system", "--connect", "qemu:///system"}, "", 2, "given twice"},
      {{"bisect-step", "--connect", "qemu:///nowhere"}, "", 128, "not a libvirt URI"},
      // Host memory: guest RAM x parallel VMs.
      {{"reproduce", "--memory-mb", "1000000"}, "", 2, "1 parallel VM(s) x 1000000 MiB guest RAM"},
      {{"reproduce", "--jobs", "64", "--memory-mb", "4096"}, "", 2, "64 parallel VM(s) x 4096 MiB"},
      {{"boot", "--kernel", "@F", "--memory-mb", "1000000"}, "", 2, "x 1000000 MiB guest RAM"},
      // Paths.
      {{"reproduce", "--json", "@F/r.json"}, "", 2, "--json '@F/r.json': @F is not a directory"},
      {{"reproduce", "--json", "@D"}, "", 2, "--json '@D': exists and is not a regular file"},
      {{"reproduce", "--out", "@F"}, "", 2, "--out '@F': exists and is not a directory"},
      {{"bisect", "--good", "a", "--bad", "b", "--db", "@F/h.db"}, "", 2, "--db '@F/h.db'"},
      {{"boot", "--kernel", "@D"}, "", 2, "--kernel '@D': is a directory, not a file"},
      {{"boot", "--kernel", "/nonexistent/bzImage"}, "", 2, "--kernel '/nonexistent/bzImage': not found"},
      // Revisions that git would read as options.
      {{"reproduce", "--commit=--upload-pack=x"}, "", 2, "--commit '--upload-pack=x': must not start with '-'"},
      {{"bisect", "--good=-x", "--bad", "b"}, "", 2, "--good '-x'"},
  };
  return table;
}

std::string subst(std::string s, const fs::path& d, const fs::path& f, const fs::path& c) {
  for (auto [key, value] : {std::pair{"@D", d.string()}, {"@F", f.string()}, {"@C", c.string()}})
    for (size_t at; (at = s.find(key)) != std::string::npos;) s.replace(at, 2, value);
  return s;
}

TEST(BadInput, EveryRowOfTheTableExitsBeforeAnyWork) {
  const fs::path dir = fs::path(RB_E2E_WORK) / ("bad-input-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const fs::path bin = dir / "bin", scratch = dir / "scratch", file = dir / "regular", kase = dir / "case.toml",
                 started = dir / "started", cache = dir / "cache";
  fs::create_directories(bin);
  fs::create_directories(scratch);
  write_file_atomic(file, "x");
  // Stand-ins that only say they were started.
  for (const char* tool : {"make", "qemu-system-x86_64"}) {
    write_file_atomic(bin / tool, std::string("#!/bin/sh\necho ") + tool + " >> " + started.string() + "\nexit 1\n");
    fs::permissions(bin / tool, fs::perms::owner_all);
  }
  // Run from a directory outside any git tree (the build dir is inside one).
  const fs::path outside = fs::temp_directory_path() / ("rb-bad-input-cwd-" + std::to_string(::getpid()));
  fs::create_directories(outside);
  int n = 0;
  for (const auto& row : rows()) {
    SCOPED_TRACE("row " + std::to_string(++n) + ": " + subst(row.args.empty() ? "" : row.args[0], scratch, file, kase));
    if (!row.case_text.empty()) write_file_atomic(kase, row.case_text);
    std::vector<std::string> argv{e2e_binary()};
    for (const auto& a : row.args) argv.push_back(subst(a, scratch, file, kase));
    // A row that slipped through must fail on something else, never build
    // (and never touch a real repository: bisect commands default to the
    // current directory's git tree).
    fs::remove_all(started);
    fs::remove_all(cache);
    fs::remove_all(dir / "bundle");
    static const std::set<std::string> takes_source{"reproduce", "build", "bisect", "bisect-step"};
    if (takes_source.count(row.args[0])) argv.insert(argv.end(), {"--source", "/nonexistent/rb-bad-input-source"});
    if (row.args[0] == "reproduce" && std::find(row.args.begin(), row.args.end(), "--out") == row.args.end())
      argv.insert(argv.end(), {"--out", (dir / "bundle").string()});
    const auto r = testing::spawn(argv,
                                  {{"PATH", bin.string() + ":" + std::getenv("PATH")},
                                   {"RACEBISECT_CACHE", cache.string()},
                                   {"RB_FAKE_ARGV_LOG", started.string()}},
                                  std::chrono::seconds(60), outside.string());
    EXPECT_EQ(r.exit_code, row.code) << r.output;
    EXPECT_NE(r.output.find(subst(row.message, scratch, file, kase)), std::string::npos)
        << "want: " << subst(row.message, scratch, file, kase) << "\ngot: " << r.output;
    EXPECT_FALSE(fs::exists(started)) << "a tool was started: " << read_file(started);
    for (const char* work : {"build", "src", "kernels", "images"}) EXPECT_FALSE(fs::exists(cache / work)) << work;
    EXPECT_FALSE(fs::exists(dir / "bundle"));
    std::cout << "row " << n << ": exit " << r.exit_code << " in " << r.seconds << " s\n";
  }
  fs::remove_all(dir);
  fs::remove_all(outside);
}

}  // namespace
}  // namespace rb
