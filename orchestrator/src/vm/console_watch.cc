// Follows a VM's growing console file for every backend: feeds the
// callback, enforces the hard and no-output timeouts and the console cap.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "vm/backend.h"

namespace rb::vm {

BootEnd watch_console(const BootSpec& spec, const OutputFn& on_output, const std::function<bool()>& alive) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto last_output = start;
  std::ifstream in;
  std::string buf(64 * 1024, '\0');
  size_t total = 0;  // bytes handed to the callback; never more than the cap
  enum class Drain { More, Stop, Full };
  auto drain = [&]() -> Drain {
    if (!in.is_open()) {
      in.open(spec.console_log, std::ios::binary);
      if (!in.is_open()) return Drain::More;
    }
    in.clear();
    for (;;) {
      if (total >= spec.console_cap) return Drain::Full;
      const size_t want = std::min(buf.size(), spec.console_cap - total);
      in.read(buf.data(), static_cast<std::streamsize>(want));
      const auto n = static_cast<size_t>(in.gcount());
      if (n == 0) break;
      total += n;
      last_output = Clock::now();
      if (!on_output(std::string_view(buf.data(), n))) return Drain::Stop;
    }
    return Drain::More;
  };
  // Short boots (probes, refused launches) end within milliseconds: poll
  // fast at first, then back off to 100 ms so a long boot costs nothing.
  auto pause = std::chrono::milliseconds(2);
  for (;;) {
    const bool running = alive();
    switch (drain()) {
      case Drain::Stop: return BootEnd::Stopped;
      case Drain::Full: return BootEnd::ConsoleFull;
      case Drain::More: break;
    }
    if (!running) return BootEnd::Exited;
    const auto now = Clock::now();
    if (now - start > spec.timeout) return BootEnd::Timeout;
    if (now - last_output > spec.no_output_timeout) return BootEnd::NoOutput;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(100));
  }
}

void cap_console_file(const BootSpec& spec) {
  // Called once the VM is dead: QEMU writes without O_APPEND, so cutting the
  // file while it runs would leave a sparse tail behind its write offset.
  std::error_code ec;
  const auto size = std::filesystem::file_size(spec.console_log, ec);
  if (!ec && size > spec.console_cap) std::filesystem::resize_file(spec.console_log, spec.console_cap, ec);
}

}  // namespace rb::vm
