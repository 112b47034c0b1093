// ferryctl's exit codes: stable, documented in docs/ferryctl.md and `ferryctl --help`, so that
// scripts can tell "the appliance said no" from "I typed it wrong" from "nobody answered".
#pragma once

namespace ferry::ferryctl {

enum class ExitCode : int {
  kOk = 0,
  kRefused = 1,      // the appliance answered with an error (or: the config is invalid)
  kUsage = 2,        // bad verb, flag or argument; an unreadable or unparseable -f file
  kUnreachable = 3,  // no socket, no permission, nobody listening, no answer in time
};

inline int ToInt(ExitCode code) { return static_cast<int>(code); }

}  // namespace ferry::ferryctl
