// The console watcher's cap: a guest that prints without end is stopped at
// spec.console_cap bytes, no more than that reaches the parser, and the
// file is cut back to the cap once the VM is gone.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "vm/backend.h"

namespace rb::vm {
namespace {

namespace fs = std::filesystem;

struct Watched {
  BootEnd end;
  size_t seen;
};

Watched watch(const BootSpec& spec) {
  size_t seen = 0;
  const BootEnd end = watch_console(
      spec, [&](std::string_view chunk) { return seen += chunk.size(), true; }, [] { return false; });
  return {end, seen};
}

TEST(ConsoleWatch, StopsAtTheCapAndCutsTheFile) {
  const fs::path dir = fs::temp_directory_path() / ("rb-watch-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  BootSpec spec;
  spec.console_log = dir / "console.log";
  spec.console_cap = 100000;
  struct Row {
    size_t bytes;
    BootEnd end;
    size_t seen;
  } rows[] = {{0, BootEnd::Exited, 0}, {99999, BootEnd::Exited, 99999}, {100000, BootEnd::ConsoleFull, 100000},
              {3000000, BootEnd::ConsoleFull, 100000}};
  for (const auto& r : rows) {
    SCOPED_TRACE(r.bytes);
    { std::ofstream(spec.console_log, std::ios::binary) << std::string(r.bytes, 'x'); }
    const Watched w = watch(spec);
    EXPECT_EQ(w.end, r.end);
    EXPECT_EQ(w.seen, r.seen);
    cap_console_file(spec);
    EXPECT_EQ(fs::file_size(spec.console_log), std::min(r.bytes, spec.console_cap));
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace rb::vm
