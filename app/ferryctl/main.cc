// ferryctl: the command line of a ferry appliance. Verbs, flags and exit codes: docs/ferryctl.md
// (and `ferryctl --help`).
#include <signal.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "args.h"
#include "commands.h"
#include "exit_code.h"

int main(int argc, char** argv) {
  using namespace ferry::ferryctl;
  // gRPC's own log lines would come between ferryctl's messages, which already say what went
  // wrong; GRPC_VERBOSITY set by the user still wins.
  setenv("GRPC_VERBOSITY", "NONE", /*overwrite=*/0);
  // A closed stdout (ferryctl stats --watch | head) shows as a failed write, handled there.
  signal(SIGPIPE, SIG_IGN);

  const std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<Invocation> invocation = ParseCommandLine(args, std::getenv("FERRY_SOCKET"));
  if (!invocation.ok()) {
    std::cerr << invocation.status().message() << "\n";
    return ToInt(ExitCode::kUsage);
  }
  if (invocation->help || invocation->command == nullptr) {
    std::cout << HelpText(*invocation);
    return ToInt(ExitCode::kOk);
  }
  return RunCommand(*invocation, std::cout, std::cerr);
}
