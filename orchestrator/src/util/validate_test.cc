#include "util/validate.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>

#include "util/error.h"

namespace rb::validate {
namespace {

namespace fs = std::filesystem;

struct Row {
  const char* name;
  std::function<void()> check;
  const char* message;  // substring of the refusal; nullptr = accepted
};

void run_rows(const std::vector<Row>& rows) {
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    if (!r.message) {
      EXPECT_NO_THROW(r.check());
      continue;
    }
    try {
      r.check();
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Usage);
      EXPECT_NE(std::string(e.what()).find(r.message), std::string::npos) << e.what();
    }
  }
}

TEST(Validate, Names) {
  run_rows({
      {"plain", [] { label("unpatched"); }, nullptr},
      {"dots and dashes", [] { label("v6.1-rc3_x"); }, nullptr},
      {"parent path", [] { label("../../x"); }, "kernel label '../../x': only letters"},
      {"absolute", [] { label("/tmp/x"); }, "only letters"},
      {"dot dot", [] { label(".."); }, "must not start with '.' or '-'"},
      {"hidden", [] { label(".x"); }, "must not start"},
      {"option look-alike", [] { label("-rf"); }, "must not start"},
      {"empty", [] { label(""); }, "must not be empty"},
      {"space", [] { label("a b"); }, "only letters"},
      {"newline shown escaped", [] { label("a\nb"); }, "'a\\nb'"},
      {"long", [] { label(std::string(65, 'a')); }, "longer than 64"},
      {"case name", [] { case_name("x/y"); }, "case name 'x/y'"},
      {"guest test with a dot", [] { guest_test("a.b"); }, "guest test 'a.b'"},
      {"guest test", [] { guest_test("uffd-race"); }, nullptr},
      {"unique", [] { unique_labels({"a", "b"}); }, nullptr},
      {"duplicate", [] { unique_labels({"a", "b", "a"}); }, "kernel label 'a': used twice"},
  });
}

TEST(Validate, GuestArguments) {
  run_rows({
      {"plain", [] { guest_arg("seed", "42"); }, nullptr},
      {"hex and dots", [] { guest_arg("x", "0x1f.a-b_c:d/e"); }, nullptr},
      {"tab", [] { guest_arg("seed", "1\tinit=/bin/sh"); }, "guest argument seed '1\\tinit=/bin/sh'"},
      {"newline", [] { guest_arg("seed", "1\ninit=/bin/sh"); }, "whitespace, control"},
      {"space", [] { guest_arg("seed", "a b"); }, "whitespace"},
      {"comma", [] { guest_arg("seed", "1,trials=9"); }, "','"},
      {"quote", [] { guest_arg("seed", "\"x"); }, "'\"'"},
      {"backslash", [] { guest_arg("seed", "a\\b"); }, "'\\'"},
      {"utf-8", [] { guest_arg("seed", "caf\xc3\xa9"); }, "non-ASCII"},
      {"invalid utf-8", [] { guest_arg("seed", "\xff"); }, "non-ASCII"},
      {"empty", [] { guest_arg("seed", ""); }, "empty value"},
      {"long", [] { guest_arg("seed", std::string(257, '1')); }, "longer than 256"},
      {"bad key", [] { guest_arg("se ed", "1"); }, "guest argument key 'se ed'"},
      {"flag form", [] { guest_arg_flag("--arg", "seed=1"); }, nullptr},
      {"flag without =", [] { guest_arg_flag("--arg", "seed"); }, "--arg 'seed': expected KEY=VALUE"},
      {"flag with empty key", [] { guest_arg_flag("--arg", "=1"); }, "expected KEY=VALUE"},
      {"append", [] { kernel_append("quiet loglevel=3"); }, nullptr},
      {"append with a newline", [] { kernel_append("quiet\ninit=/bin/sh"); }, "--append"},
      {"append of rb.*", [] { kernel_append("quiet rb.nonce=0"); }, "rb.* parameters"},
      {"cmdline length", [] { kernel_cmdline_length(std::string(2048, 'x')); }, "2047"},
  });
}

TEST(Validate, Numbers) {
  run_rows({
      {"in range", [] { int_range("--trials", 4, 1, 10000); }, nullptr},
      {"negative timeout", [] { int_range("--timeout", -5, 1, 604800); }, "--timeout '-5': must be between 1 and 604800"},
      {"zero factor", [] { real_range("--fixed-factor", 0, 0.001, 1000); }, "--fixed-factor '0'"},
      {"nan", [] { real_range("--x", std::nan(""), 0, 1); }, "--x"},
      {"confidence 5", [] { probability("--confidence", 5); }, "--confidence '5': must be strictly between 0 and 1"},
      {"confidence 1", [] { probability("--confidence", 1); }, "strictly between"},
      {"confidence .95", [] { probability("--confidence", 0.95); }, nullptr},
      {"revision", [] { git_revision("--commit", "v6.1~3"); }, nullptr},
      {"revision option", [] { git_revision("--commit", "--upload-pack=x"); }, "must not start with '-'"},
  });
}

TEST(Validate, Paths) {
  const fs::path dir = fs::temp_directory_path() / ("rb-validate-" + std::to_string(::getpid()));
  fs::create_directories(dir / "d");
  std::ofstream(dir / "file") << "x";
  fs::create_symlink(dir / "file", dir / "link");
  run_rows({
      {"new file", [&] { output_file("--json", dir / "r.json"); }, nullptr},
      {"new file in new dirs", [&] { output_file("--json", dir / "a" / "b" / "r.json"); }, nullptr},
      {"existing file", [&] { output_file("--json", dir / "file"); }, nullptr},
      {"under a regular file", [&] { output_file("--json", dir / "file" / "r.json"); }, "is not a directory"},
      {"a directory", [&] { output_file("--json", dir / "d"); }, "exists and is not a regular file"},
      {"a symlink", [&] { output_file("--json", dir / "link"); }, "symbolic link"},
      {"a device", [&] { output_file("--json", "/dev/null"); }, "not a regular file"},
      {"out dir new", [&] { output_dir("--out", dir / "new" / "bundle"); }, nullptr},
      {"out dir existing", [&] { output_dir("--out", dir / "d"); }, nullptr},
      {"out dir is a file", [&] { output_dir("--out", dir / "file"); }, "exists and is not a directory"},
      {"out dir under a file", [&] { output_dir("--out", dir / "file" / "x"); }, "is not a directory"},
      {"input file", [&] { input_file("case file", dir / "file"); }, nullptr},
      {"input dir", [&] { input_file("case file", dir / "d"); }, "is a directory, not a file"},
      {"input missing", [&] { input_file("case file", dir / "nope"); }, "not found"},
  });
  if (::geteuid() != 0) {
    fs::permissions(dir / "d", fs::perms::owner_read | fs::perms::owner_exec);
    run_rows({{"read-only dir", [&] { output_file("--json", dir / "d" / "r.json"); }, "is not writable"}});
    fs::permissions(dir / "d", fs::perms::owner_all);
  }
  fs::remove_all(dir);
}

TEST(Validate, HostMemory) {
  run_rows({
      {"fits", [] { host_memory(512, 2, 4096); }, nullptr},
      {"too many VMs", [] { host_memory(512, 64, 4096); }, "64 parallel VM(s) x 512 MiB"},
      {"too big a guest", [] { host_memory(1 << 20, 1, 24000); }, "lower --jobs/--slots or --memory-mb"},
  });
  EXPECT_EQ(meminfo_available_mb("MemTotal:  24000000 kB\nMemAvailable:   2048000 kB\n"), 2000);
  EXPECT_EQ(meminfo_available_mb("MemTotal:  24000000 kB\n"), std::nullopt);
  EXPECT_EQ(meminfo_available_mb("MemAvailable: lots\n"), std::nullopt);
  ASSERT_TRUE(host_available_mb());  // this machine has /proc/meminfo
  EXPECT_GT(*host_available_mb(), 0);
}

}  // namespace
}  // namespace rb::validate
