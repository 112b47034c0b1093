// ferryctl's command line: verbs, sub-verbs, their flags, and help.
//
// absl flags are process-global and know nothing of verbs, so ferryctl parses its own. The
// rule that keeps parsing unambiguous: every flag name has one meaning and one arity across
// all verbs (the table in args.cc), so positionals can be told from flag values before the
// verb is known, and flags may come before or after the verb. Parsing then checks that each
// flag applies to the verb it was given with.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace ferry::ferryctl {

inline constexpr absl::string_view kDefaultSocket = "/run/ferry/ferry.sock";

enum class OutputFormat { kTable, kJson };

// Flags every verb takes.
struct GlobalOptions {
  std::string socket;   // the Unix socket: --socket, else $FERRY_SOCKET, else kDefaultSocket
  std::string address;  // --address HOST:PORT: TCP instead of the socket; empty: the socket
  OutputFormat output = OutputFormat::kTable;
  absl::Duration timeout = absl::Seconds(5);
};

// One verb ("status") or sub-verb ("backend add").
struct CommandSpec {
  absl::string_view name;       // "backend add"
  absl::string_view arguments;  // "POOL ADDRESS:PORT", as help shows them
  int min_args;
  int max_args;
  std::vector<absl::string_view> flags;  // the verb's own flags (long names), in help order
  absl::string_view summary;             // one line, for the verb list
  absl::string_view help;                // what it does and prints, for --help
};

// What the command line asks for.
struct Invocation {
  // The verb; null when only help was asked for without one (`ferryctl --help`) or a group
  // ("config", "backend") was named with --help.
  const CommandSpec* command = nullptr;
  std::string group;  // "config" or "backend" when the group alone was named with --help
  bool help = false;
  std::vector<std::string> args;              // the positionals after the verb
  std::map<std::string, std::string> flags;   // the verb's flags: long name -> value ("" for
                                              // switches); the last occurrence wins
  GlobalOptions global;

  bool Has(absl::string_view flag) const { return flags.count(std::string(flag)) > 0; }
  // The flag's value, or `fallback` when absent.
  std::string String(absl::string_view flag, absl::string_view fallback = "") const;
  // Numeric flags were checked when parsed; these return the value or `fallback`.
  uint64_t Uint(absl::string_view flag, uint64_t fallback) const;
  absl::Duration Duration(absl::string_view flag, absl::Duration fallback) const;
};

// Parses argv (without argv[0]). `env_socket` is $FERRY_SOCKET (null or empty when unset).
// Returns InvalidArgument whose message is what to print: "ferryctl: VERB: what is wrong"
// and, on a second line, "see 'ferryctl VERB --help'". Exit code 2.
absl::StatusOr<Invocation> ParseCommandLine(absl::Span<const std::string> argv,
                                            const char* env_socket);

// The help `invocation` asks for: ferryctl's (verbs, global flags, exit codes), a group's, or
// a verb's.
std::string HelpText(const Invocation& invocation);

// A usage error about `command` ("backend add"; empty for ferryctl as a whole), formatted as
// ParseCommandLine formats its own, for checks that commands make on argument values.
absl::Status UsageError(absl::string_view command, absl::string_view message);

// All verbs, in help order.
absl::Span<const CommandSpec> Commands();

}  // namespace ferry::ferryctl
