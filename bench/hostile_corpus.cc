// Plays a corpus of adversarial consoles (testing/hostile_console.h)
// through the real `racebisect boot` with the stand-in QEMU first on PATH,
// and counts what the guest contract promises: no attacked console may end
// as a pass or fail boot or count a trial, every valid one must count
// exactly its trials, and racebisect's peak RSS stays under 256 MiB.
//
//   hostile_corpus [--count N] [--seed S] [--work DIR]   (defaults 10000, 1)
//   hostile_corpus --write-seeds DIR    (fuzz/ seeds: the contract rows)
//
// Run it under the heavy lock: flock /tmp/racebisect-heavy.lock nice ...
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>

#include "testing/hostile_console.h"
#include "testing/spawn.h"
#include "util/fs.h"

namespace {

namespace fs = std::filesystem;
using rb::testing::ScriptedConsole;

struct Tally {
  long played = 0, attacked = 0, valid = 0, huge = 0;
  long violating = 0;  // attacked console that came out pass/fail or counted a trial it should not
  long rejected = 0;   // valid console not counted as it should have been
  long mismatched = 0; // any console whose exit code or counts differ from the expectation
  long max_rss_kb = 0;
  uintmax_t max_console = 0;
  double seconds = 0;
  std::map<std::string, long> by_name;
};

bool counts_as(const std::string& out, const ScriptedConsole& c) {
  // "...s): 3 pass, 1 fail, 0 infra": anchored, so "103 pass" is not "3 pass".
  return out.find("s): " + std::to_string(c.want.passes) + " pass, " + std::to_string(c.want.fails) + " fail,") !=
         std::string::npos;
}

// Trials the boot counted, from "...s): 3 pass, 1 fail, 0 infra"; -1 if absent.
int counted_trials(const std::string& out) {
  const size_t at = out.find("s): ");
  int pass = 0, fail = 0;
  if (at == std::string::npos || std::sscanf(out.c_str() + at, "s): %d pass, %d fail", &pass, &fail) != 2) return -1;
  return pass + fail;
}

void play_one(const ScriptedConsole& c, const fs::path& work, const fs::path& bin, const fs::path& fake, Tally& t) {
  const fs::path script = work / "console.script", out = work / "out", kernel = work / "bzImage";
  rb::write_file_atomic(script, c.script);
  fs::remove_all(out);
  std::vector<std::string> argv{bin.string(), "boot", "--kernel", kernel.string(), "--accel", "tcg", "--arg",
                                "trials=" + std::to_string(c.planned), "--out", out.string(), "--timeout", "300"};
  argv.insert(argv.end(), c.boot_flags.begin(), c.boot_flags.end());  // e.g. a short hang timeout
  if (std::find(argv.begin(), argv.end(), "--no-output-timeout") == argv.end())
    argv.insert(argv.end(), {"--no-output-timeout", "120"});
  const auto r = rb::testing::spawn(
      argv,
      {{"PATH", fake.string() + ":" + std::getenv("PATH")},
       {"RB_FAKE_CONSOLE", script.string()},
       {"RACEBISECT_CACHE", (work / "cache").string()}},
      std::chrono::seconds(600));
  const bool attacked = c.want.outcome != rb::record::Outcome::Pass && c.want.outcome != rb::record::Outcome::Fail;
  const bool pass_fail = r.exit_code == 0 || r.exit_code == 1;
  ++t.played;
  ++t.by_name[c.name];
  t.huge += c.huge;
  (attacked ? t.attacked : t.valid)++;
  t.max_rss_kb = std::max(t.max_rss_kb, r.max_rss_kb);
  t.seconds += r.seconds;
  std::error_code ec;
  t.max_console = std::max(t.max_console, fs::file_size(out / "console.log", ec));
  const bool right = r.exit_code == rb::testing::boot_exit_code(c.want.outcome) && counts_as(r.output, c);
  // What the contract forbids: an attacked console ending as pass/fail, or
  // counting trials it should not. Any other difference is a mismatch.
  if (attacked && (pass_fail || counted_trials(r.output) > c.want.passes + c.want.fails)) ++t.violating;
  if (!attacked && !right) ++t.rejected;
  if (!right) ++t.mismatched;
  if (!right) {
    const fs::path keep = work / ("mismatch-" + std::to_string(t.played) + ".script");
    fs::copy_file(script, keep, fs::copy_options::overwrite_existing);
    std::fprintf(stderr, "mismatch #%ld (%s): exit %d, want %d; kept %s\n%s\n", t.played, c.name.c_str(),
                 r.exit_code, rb::testing::boot_exit_code(c.want.outcome), keep.c_str(), r.output.c_str());
  }
}

fs::path self_dir() { return fs::read_symlink("/proc/self/exe").parent_path(); }

int write_seeds(const fs::path& dir) {
  fs::create_directories(dir);
  int n = 0;
  for (const auto& c : rb::testing::contract_rows()) {
    if (c.huge) continue;
    // fuzz_console's first byte: nonce on (0x80) + planned; second: chunking.
    std::string seed{static_cast<char>(0x80 | c.planned), 7};
    seed += rb::testing::render(c.script, "feedc0de12345678");
    rb::write_file_atomic(dir / ("row-" + c.name), seed);
    ++n;
  }
  std::printf("%d seeds in %s\n", n, dir.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  long count = 10000;
  uint64_t seed = 1;
  fs::path work = fs::temp_directory_path() / ("rb-hostile-corpus-" + std::to_string(::getpid()));
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--count") count = std::stol(v);
    else if (k == "--seed") seed = std::stoull(v);
    else if (k == "--work") work = v;
    else if (k == "--write-seeds") return write_seeds(v);
    else return std::fprintf(stderr, "unknown flag %s\n", k.c_str()), 2;
  }
  const fs::path bin = self_dir().parent_path() / "orchestrator" / "racebisect";
  const fs::path fake = self_dir().parent_path() / "fake-qemu";
  fs::create_directories(work);
  rb::write_file_atomic(work / "bzImage", "not a kernel");
  Tally t;
  std::mt19937_64 rng(seed);
  for (const auto& c : rb::testing::contract_rows()) play_one(c, work, bin, fake, t);
  while (t.played < count) {
    play_one(rb::testing::random_console(rng), work, bin, fake, t);
    if (t.played % 500 == 0)
      std::fprintf(stderr, "%ld played, %ld violating, %ld rejected, peak RSS %ld KiB\n", t.played, t.violating,
                   t.rejected, t.max_rss_kb);
  }
  std::printf("consoles %ld (attacked %ld, valid %ld, huge %ld), kinds %zu\n", t.played, t.attacked, t.valid, t.huge,
              t.by_name.size());
  std::printf("contract-violating pass/fail boots: %ld\nvalid consoles not counted right: %ld\n", t.violating,
              t.rejected);
  std::printf("consoles with another exit code or counts than expected: %ld\n", t.mismatched);
  std::printf("peak RSS of racebisect boot (+ stand-in): %ld KiB (%.1f MiB)\nlargest console on disk: %ju bytes\n",
              t.max_rss_kb, t.max_rss_kb / 1024.0, t.max_console);
  std::printf("boot time: %.1f s in all, %.3f s per console\n", t.seconds, t.seconds / t.played);
  for (const auto& [name, n] : t.by_name) std::printf("  %-30s %ld\n", name.c_str(), n);
  fs::remove_all(work);
  return t.mismatched == 0 && t.max_rss_kb < 256 * 1024 ? 0 : 1;
}
