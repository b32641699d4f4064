// The guest contract, host side: one boot's console text and how its VM
// ended become a BootRecord (per-trial outcomes and the boot's outcome).
// The console is hostile input; see console/console_report.h.
#pragma once
#include <string_view>

#include "record/records.h"
#include "vm/backend.h"

namespace rb::run {

using record::BootRecord;

// Classifies one boot from its console text and how the VM ended.
BootRecord classify_boot(std::string_view console, vm::BootEnd end, int planned);

}  // namespace rb::run
