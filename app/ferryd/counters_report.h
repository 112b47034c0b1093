// The counters report ferryd prints on SIGUSR1 and at shutdown: every worker's counters summed
// (the control thread's read; ARCHITECTURE.md "Statistics"), one "group.name value" per line so
// that both people and scripts can read it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "worker.h"

namespace ferry::ferryd {

std::string CountersReport(const std::vector<std::unique_ptr<Worker>>& workers, uint64_t tsc_hz);

}  // namespace ferry::ferryd
