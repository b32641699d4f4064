// How /init copies the guest test's output to the console (images/init.cc),
// header-only so the host's unit tests exercise the very same code
// (orchestrator/src/image/line_forwarder_test.cc).
//
// One whole line per write: /init writes it as one /dev/kmsg record, so
// kernel messages land only between lines. Only printable ASCII and TAB
// pass: what is checked here is exactly what the host's sanitizer will see.
// Lines are cut at kMaxLine, never split (a split would start a new line
// with whatever the test chose), and the first cut is reported: a cut line
// may have lost its directive ("# SKIP ..."). A line that starts with
// "racebisect-init" is defused ("# defused: ...") and reported once, so
// nothing the test prints can pass for one of /init's markers. A line that
// starts with '[' is made a comment ("# [..."): the host reads markers and
// results behind a printk prefix ("[  1.2] ", the kernel's, on /init's own
// records), so "[1] racebisect-init ..." or a replayed dmesg line must not
// reach it as one.
#pragma once
#include <functional>
#include <string>
#include <string_view>

namespace rb_init {

class LineForwarder {
 public:
  // One /dev/kmsg record: 6.1 refuses writes over 976 bytes with
  // PRINTK_CALLER (992 without), and we may add "# defused: ", /init a
  // level prefix and the newline.
  static constexpr size_t kMaxLine = 900;
  static constexpr std::string_view kMarker = "racebisect-init";

  struct Events {
    std::function<void()> forged;  // the first line defused
    std::function<void()> cut;     // the first line cut at kMaxLine
  };

  LineForwarder(std::function<void(std::string_view)> write, Events events)
      : write_(std::move(write)), events_(std::move(events)) {}

  void feed(std::string_view data) {
    for (char c : data) {
      if (c == '\n') {
        emit();
        continue;
      }
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u >= 0x7f) continue;
      if (line_.size() < kMaxLine) line_ += c;
      else if (!cut_) events_.cut(), cut_ = true;
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
      if (!forged_) events_.forged();
      forged_ = true;
    } else if (line_.starts_with('[')) {
      write_("# " + line_ + "\n");
    } else {
      write_(line_ + "\n");
    }
    line_.clear();
  }

  std::function<void(std::string_view)> write_;
  Events events_;
  std::string line_;
  bool forged_ = false, cut_ = false;
};

}  // namespace rb_init
