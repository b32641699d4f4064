// Where racebisect finds its data -- cases, fragments, patches -- and the
// static binaries that go into the guest (guest tests, /init). Nothing about
// the source or build tree is compiled in: an installed copy works wherever
// its prefix is, and a copy whose source tree is gone still works.
//
// Each directory is resolved at run time, first match wins:
//   data    (cases/, fragments/, patches/): $RACEBISECT_DATA, else
//           <dir of /proc/self/exe>/<bindir-to-datadir>   (../share/racebisect)
//   libexec (uffd-race, rb-init, ...):      $RACEBISECT_LIBEXEC, else
//           <dir of /proc/self/exe>/<bindir-to-libexecdir> (../libexec/racebisect)
// The relative parts come from GNUInstallDirs at configure time. The build
// tree is laid out the same way (build/share/racebisect is a symlink to the
// source's kernels/, guest binaries are built into build/libexec/racebisect),
// so build/orchestrator/racebisect resolves by the same rule.
#pragma once
#include <filesystem>
#include <optional>
#include <string>

namespace rb::run {

struct DataLayout {
  std::filesystem::path data;     // holds cases/, fragments/, patches/
  std::filesystem::path libexec;  // holds the static guest binaries and rb-init
  std::string data_from, libexec_from;  // "RACEBISECT_DATA", "executable", ...
};

struct LayoutInputs {
  std::optional<std::filesystem::path> env_data, env_libexec;
  std::filesystem::path exe;  // absolute path of the running executable
};

// Pure resolution (testable): an environment override that points at a
// directory without the expected contents is bad input (rb::Error Usage,
// naming the variable); nothing found at all is an infrastructure error
// naming every place tried.
DataLayout resolve_layout(const LayoutInputs& in);

// The process's layout, from the environment and /proc/self/exe; resolved
// once, on first use.
const DataLayout& data_layout();

// Directory holding the static guest tests (uffd-race, ...).
std::filesystem::path guest_binary_dir();
// The static /init of the initramfs.
std::filesystem::path init_binary();

}  // namespace rb::run
