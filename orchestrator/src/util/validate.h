// Pure checks on what a user hands us, run before any work starts. Every
// check throws rb::Error(Usage) with a message that names the input (the flag
// or key, and the offending value), so the CLI exits 2 at once instead of
// failing after a kernel build.
//
// Names (labels, case names, guest test names, argument keys) end up as path
// parts, file names, VM names and kernel command line words: they are
// restricted to [A-Za-z0-9._-], must not start with '.' or '-' (no "..", no
// hidden files, no option look-alikes) and are at most kMaxName bytes.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rb::validate {

constexpr size_t kMaxName = 64;
// Bounds shared by flags and case files. Trials per boot also bound what the
// console parser keeps per boot (console/ktap.h).
constexpr int64_t kMaxTrialsPerBoot = 10000;
constexpr int64_t kMaxBoots = 100000;
constexpr int64_t kMaxDurationMs = 86400000;  // what the guest test accepts
constexpr int64_t kMaxVcpus = 64;
constexpr int64_t kMinMemoryMb = 128;
constexpr int64_t kMaxMemoryMb = 1 << 20;
constexpr int64_t kMaxHugepages = 1 << 18;
constexpr int64_t kMaxParallelVms = 64;      // --jobs, --slots
constexpr int64_t kMaxTimeoutS = 7 * 86400;
constexpr size_t kMaxArgValue = 256;
// x86's COMMAND_LINE_SIZE: the kernel silently truncates a longer one.
constexpr size_t kMaxKernelCmdline = 2048;

// A value quoted for a message: control and non-ASCII bytes escaped (a
// newline in a label must not forge a second log line), cut at 80 bytes.
std::string quoted(std::string_view value);

// `what` names the input in the message, e.g. "kernel label" or "--kernel".
void name(std::string_view what, std::string_view value);
void label(std::string_view value);      // a kernel label (becomes <bundle>/kernels/<label>, boots/<label>-N.log)
void case_name(std::string_view value);  // a case name (becomes part of the bundle directory)
// A guest test name: /init runs /bin/NAME and accepts only [A-Za-z0-9_-].
void guest_test(std::string_view value);
// Every label once: duplicates would share console logs and mix results.
void unique_labels(const std::vector<std::string>& labels);

// A guest argument KEY=VALUE as it will go into rb.args=k=v,k=v on the
// kernel command line. Key: a name. Value: printable ASCII without space,
// ',' (the separator), '"' or '\' (kernel command line quoting), at most
// kMaxArgValue bytes. A TAB or newline would otherwise split the command
// line and inject parameters (init=/bin/sh).
void guest_arg(std::string_view key, std::string_view value);
// "--arg KEY=VALUE": split and checked; returns {key, value}.
std::pair<std::string, std::string> guest_arg_flag(std::string_view flag, std::string_view text);
// Extra kernel command line words (boot --append): printable ASCII and
// spaces only, and no rb.* parameter (those belong to the guest contract).
void kernel_append(std::string_view text);
void kernel_cmdline_length(std::string_view cmdline);

// Numbers from flags and case files.
void int_range(std::string_view what, int64_t value, int64_t lo, int64_t hi);
void real_range(std::string_view what, double value, double lo, double hi);     // lo <= v <= hi, finite
void open_range(std::string_view what, double value, double lo, double hi);     // lo < v < hi
void probability(std::string_view what, double value);                          // 0 < v < 1

// Output paths, checked before any work so a run never fails at its end.
// A file we will write: if it exists it must be a regular file (never a
// device, a directory or a symlink to one); otherwise its nearest existing
// ancestor must be a writable directory (not a regular file).
void output_file(std::string_view what, const std::filesystem::path& p);
// A directory we will create or fill: the same, but an existing one must be
// a directory.
void output_dir(std::string_view what, const std::filesystem::path& p);
// An input file that must exist and be a regular file (not a directory).
void input_file(std::string_view what, const std::filesystem::path& p);

// Host memory: `vms` parallel guests of `memory_mb` each must fit into what
// the host has available now (MemAvailable), less a margin for QEMU itself.
void host_memory(int memory_mb, int vms, int64_t available_mb);
// MemAvailable from /proc/meminfo text, in MiB; nullopt if absent.
std::optional<int64_t> meminfo_available_mb(std::string_view meminfo);
// Reads /proc/meminfo; nullopt if it cannot be read.
std::optional<int64_t> host_available_mb();

// A git revision from the command line: no leading '-' (it would be read as
// an option), no whitespace or control characters.
void git_revision(std::string_view what, std::string_view rev);

}  // namespace rb::validate
