// ferryctl's verbs: each reads its arguments, calls ferryd, and prints the answer as a table
// or JSON (render.h).
#pragma once

#include <ostream>

#include "args.h"

namespace ferry::ferryctl {

// Runs `invocation` (a verb, not a request for help): results go to `out`, failures to `err`.
// Returns the exit code (exit_code.h).
int RunCommand(const Invocation& invocation, std::ostream& out, std::ostream& err);

}  // namespace ferry::ferryctl
