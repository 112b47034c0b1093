// FUZZ_CHECK(cond): a property every fuzz target asserts. A violation prints the condition and
// traps, so libFuzzer keeps the input as a crash (with assert, an NDEBUG build would hide it).
#pragma once

#include <cstdio>

#define FUZZ_CHECK(cond)                                                    \
  do {                                                                      \
    if (!(cond)) {                                                          \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
                   #cond);                                                  \
      __builtin_trap();                                                     \
    }                                                                       \
  } while (0)
