// Does KVM really run a guest here? /dev/kvm existing proves nothing (on
// these machines it is a paravirtual flavour where guests abort or hang), so
// Auto boots a tiny guest under KVM with a short timeout and falls back to
// TCG, saying why.
#pragma once
#include <filesystem>
#include <string>

#include "vm/backend.h"

namespace rb::vm {

struct AccelChoice {
  Accel accel = Accel::Tcg;
  std::string reason;  // one line for the log and the bundle
};

// `kernel`/`initrd` must be a kernel + racebisect initramfs (rb.test=none
// boots to "racebisect-init: exit status=0"). The answer is cached per
// process; `workdir` receives the probe's console log.
AccelChoice resolve_accel(Accel requested, const std::filesystem::path& kernel, const std::filesystem::path& initrd,
                          const std::filesystem::path& workdir);

}  // namespace rb::vm
