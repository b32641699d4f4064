// A stand-in qemu-system-x86_64 for adversarial tests: instead of booting,
// it plays a scripted console (testing/hostile_console.h) into the file
// given by `-serial file:PATH`, with the nonce taken from the rb.nonce= word
// of `-append`, and exits. Put its directory first on PATH.
//
//   RB_FAKE_CONSOLE=FILE   the script to play (required)
//   RB_FAKE_EXIT=N         exit code (default 0)
//   RB_FAKE_ARGV_LOG=FILE  append the -append text here, one line per run
//                          (tests check that refused input never got this far)
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "testing/hostile_console.h"

namespace {

std::string arg_after(const std::vector<std::string>& argv, const std::string& flag) {
  for (size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == flag) return argv[i + 1];
  return "";
}

std::string word_value(const std::string& cmdline, const std::string& key) {
  std::istringstream in(cmdline);
  for (std::string w; in >> w;)
    if (w.rfind(key + "=", 0) == 0) return w.substr(key.size() + 1);
  return "";
}

void write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    const ssize_t w = write(fd, s.data(), s.size());
    if (w <= 0) std::exit(70);
    s.remove_prefix(static_cast<size_t>(w));
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv, argv + argc);
  const std::string serial = arg_after(args, "-serial");
  const std::string cmdline = arg_after(args, "-append");
  if (const char* log = std::getenv("RB_FAKE_ARGV_LOG")) std::ofstream(log, std::ios::app) << cmdline << "\n";
  const char* script_path = std::getenv("RB_FAKE_CONSOLE");
  if (!script_path || serial.rfind("file:", 0) != 0) {
    std::fprintf(stderr, "fake qemu: need RB_FAKE_CONSOLE and -serial file:PATH\n");
    return 1;
  }
  std::ifstream in(script_path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const int fd = ::open(serial.substr(5).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return 1;
  rb::testing::play(
      ss.str(), word_value(cmdline, "rb.nonce"), [&](std::string_view piece) { write_all(fd, piece); },
      [](int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); });
  ::close(fd);
  const char* code = std::getenv("RB_FAKE_EXIT");
  return code ? std::atoi(code) : 0;
}
