// One SACK block (RFC 2018 §3): the receiver holds [left, right), left edge inclusive, right
// edge exclusive. Shared by the option parser (options.h) and the sender's scoreboard.
#pragma once

#include "tcp/seq.h"

namespace ferry::tcp {

struct SackBlock {
  Seq left;
  Seq right;
  friend bool operator==(const SackBlock&, const SackBlock&) = default;
};

}  // namespace ferry::tcp
