// How /init copies the guest test's output to the console (images/init.cc),
// header-only so the host's unit tests exercise the very same code
// (orchestrator/src/image/line_forwarder_test.cc).
//
// One whole line per write: /init writes it as one /dev/kmsg record, so
// kernel messages land only between lines. Only printable ASCII and TAB
// pass: what is checked here is exactly what the host's sanitizer will see.
// Lines are cut at kMaxLine, never split (a split would start a new line
// with whatever the test chose). A line that starts with "racebisect-init"
// is defused ("# defused: ...") and reported once, so nothing the test
// prints can pass for one of /init's markers.
#pragma once
#include <functional>
#include <string>
#include <string_view>

namespace rb_init {

class LineForwarder {
 public:
  // One /dev/kmsg record: the kernel refuses writes over 992 bytes (6.1's
  // LOG_LINE_MAX), and /init adds a level prefix and the newline.
  static constexpr size_t kMaxLine = 960;
  static constexpr std::string_view kMarker = "racebisect-init";

  LineForwarder(std::function<void(std::string_view)> write, std::function<void()> on_forged)
      : write_(std::move(write)), on_forged_(std::move(on_forged)) {}

  void feed(std::string_view data) {
    for (char c : data) {
      if (c == '\n') {
        emit();
        continue;
      }
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u >= 0x7f) continue;
      if (line_.size() < kMaxLine) line_ += c;
    }
  }
  // A last line without '\n'.
  void flush() {
    if (!line_.empty()) emit();
  }

 private:
  void emit() {
    if (std::string_view(line_).starts_with(kMarker)) {
      write_("# defused: " + line_ + "\n");
      if (!forged_) on_forged_();
      forged_ = true;
    } else {
      write_(line_ + "\n");
    }
    line_.clear();
  }

  std::function<void(std::string_view)> write_;
  std::function<void()> on_forged_;
  std::string line_;
  bool forged_ = false;
};

}  // namespace rb_init
