#include "args.h"

#include <algorithm>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace ferry::ferryctl {
namespace {

enum class FlagKind { kSwitch, kString, kUint, kDuration };

struct FlagSpec {
  absl::string_view name;  // long name, without "--"
  char short_name;        // 0: none
  FlagKind kind;
  absl::string_view value_name;
  absl::string_view help;
  bool global;
};

// Every flag of every verb. A name means one thing everywhere (see args.h).
constexpr FlagSpec kFlags[] = {
    {"socket", 0, FlagKind::kString, "PATH",
     "ferryd's Unix socket (default $FERRY_SOCKET, else /run/ferry/ferry.sock)", true},
    {"address", 0, FlagKind::kString, "HOST:PORT",
     "reach ferryd over TCP (control.grpc_port) instead of the socket", true},
    {"output", 'o', FlagKind::kString, "FORMAT", "table (for people, the default) or json",
     true},
    {"timeout", 0, FlagKind::kDuration, "DURATION",
     "how long to wait for ferryd to answer (default 5s)", true},
    {"help", 'h', FlagKind::kSwitch, "", "show help for ferryctl or a verb", true},
    {"file", 'f', FlagKind::kString, "FILE", "the config, in protobuf text format", false},
    {"expected-version", 0, FlagKind::kUint, "N",
     "refuse (exit 1, ABORTED) unless the running config is version N", false},
    {"name", 0, FlagKind::kString, "NAME", "the backend's name (default ADDRESS:PORT)", false},
    {"weight", 0, FlagKind::kUint, "W", "share of new sessions, 1..1000 (default 1)", false},
    {"max-sessions", 0, FlagKind::kUint, "N",
     "sessions at once per worker; 0: no limit (the default)", false},
    {"disabled", 0, FlagKind::kSwitch, "", "add it disabled: no new sessions until enabled",
     false},
    {"per-worker", 0, FlagKind::kSwitch, "", "also show each worker's counters", false},
    {"all", 0, FlagKind::kSwitch, "", "show every counter, zeros included", false},
    {"watch", 0, FlagKind::kSwitch, "", "print the statistics again every --interval", false},
    {"interval", 0, FlagKind::kDuration, "DURATION",
     "with --watch: time between prints, 100ms..1h (default 1s)", false},
    {"count", 0, FlagKind::kUint, "N", "with --watch: stop after N prints (default: Ctrl-C)",
     false},
    {"listener", 0, FlagKind::kString, "NAME", "only sessions of this listener", false},
    {"pool", 0, FlagKind::kString, "NAME", "only sessions of this pool", false},
    {"backend", 0, FlagKind::kString, "NAME", "only sessions on this backend", false},
    {"client", 0, FlagKind::kString, "ADDR[:PORT]", "only sessions of this client", false},
    {"limit", 0, FlagKind::kUint, "N", "show at most N sessions; 0: all (default 100)", false},
    {"page-size", 0, FlagKind::kUint, "N",
     "sessions fetched per request, 1..1000 (default: up to --limit)", false},
};

const FlagSpec* FindLong(absl::string_view name) {
  for (const FlagSpec& f : kFlags) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

const FlagSpec* FindShort(char c) {
  for (const FlagSpec& f : kFlags) {
    if (f.short_name != 0 && f.short_name == c) return &f;
  }
  return nullptr;
}

const std::vector<CommandSpec>& CommandTable() {
  static const auto* const kCommands = new std::vector<CommandSpec>{
      {"status", "", 0, 0, {}, "what the appliance is: version, uptime, workers, ports",
       "Prints ferryd's version, pid, uptime and running config version, then a table of\n"
       "workers (lcore, sessions, mbufs in use, share of loop time busy) and a table of ports\n"
       "(link, speed, queues, addresses), and the totals.\n"},
      {"config get", "", 0, 0, {}, "print the running config",
       "Prints the running config in protobuf text format, after a comment line\n"
       "\"# version N\". The output is a valid -f FILE for config apply.\n"
       "With -o json: the GetConfigResponse ({\"config\": ..., \"version\": \"N\"}).\n"},
      {"config validate", "", 0, 0, {"file"}, "check a config file without applying it",
       "Parses FILE here (syntax errors are reported with line:column, exit 2), then has\n"
       "ferryd check it as config apply would, changing nothing. Exit 0 if it is valid\n"
       "(saying whether it applies live or needs a restart), 1 if not (printing the field at\n"
       "fault and what is wrong with it).\n"},
      {"config apply", "", 0, 0, {"file", "expected-version"},
       "replace the running config with a file",
       "Applies FILE live: the workers take the new config, and sessions in progress keep\n"
       "their backend. Prints the new version and what changed. A config ferryd refuses\n"
       "leaves the running one as it was (exit 1).\n"
       "To change a config safely: ferryctl config get > c.textproto, edit it, then\n"
       "ferryctl config apply -f c.textproto --expected-version N (N from the first line).\n"},
      {"config diff", "", 0, 0, {"file"}, "show how a file differs from the running config",
       "Prints a unified diff from the running config to FILE, both normalized (parsed and\n"
       "printed in text format, so comments, order of writing and spacing do not count), or\n"
       "\"no differences\". Exit 0 either way.\n"},
      {"backend add", "POOL ADDRESS:PORT", 2, 2,
       {"name", "weight", "max-sessions", "disabled", "expected-version"},
       "add a backend to a pool",
       "Adds a backend at ADDRESS:PORT to POOL (a new config version). Prints the new version\n"
       "and the change.\n"},
      {"backend remove", "POOL NAME", 2, 2, {"expected-version"}, "remove a backend",
       "Removes backend NAME from POOL. Its sessions in progress carry on until they end\n"
       "(drain it first to see them end: ferryctl backend drain).\n"},
      {"backend weight", "POOL NAME W", 3, 3, {"expected-version"}, "set a backend's weight",
       "Sets backend NAME's weight (1..1000): its share of new sessions.\n"},
      {"backend enable", "POOL NAME", 2, 2, {"expected-version"},
       "let a backend take new sessions",
       "Enables backend NAME, and ends a drain: it takes new sessions again.\n"},
      {"backend disable", "POOL NAME", 2, 2, {"expected-version"},
       "stop new sessions to a backend",
       "Disables backend NAME: no new sessions; those it has carry on.\n"},
      {"backend drain", "POOL NAME", 2, 2, {"expected-version"},
       "drain a backend: no new sessions, watch the rest end",
       "Drains backend NAME: no new sessions, those it has carry on. ferryctl stats shows it\n"
       "\"draining\", then \"drained\" once it has none (it is then safe to take down).\n"},
      {"stats", "", 0, 0, {"per-worker", "all", "watch", "interval", "count"},
       "counters, listeners and backends",
       "Prints the global counters (those that are not zero, unless --all) and duration\n"
       "histograms, then a table of listeners (sessions, bytes, failures) and a table of\n"
       "backends (state, weight, sessions, connect failures, connect time). --per-worker\n"
       "adds each worker's counters. --watch prints them again every --interval until\n"
       "Ctrl-C or --count; with -o json, one JSON object per line.\n"},
      {"sessions", "", 0, 0, {"listener", "pool", "backend", "client", "limit", "page-size"},
       "the sessions in progress",
       "Lists the sessions in progress (worker, listener, client, backend, state, age, idle\n"
       "time, bytes each way), filtered by the flags given (all must match), at most --limit.\n"},
  };
  return *kCommands;
}

constexpr absl::string_view kGroups[] = {"config", "backend"};

bool IsGroup(absl::string_view word) {
  return std::find(std::begin(kGroups), std::end(kGroups), word) != std::end(kGroups);
}

const CommandSpec* FindCommand(absl::string_view name) {
  for (const CommandSpec& c : CommandTable()) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::vector<std::string> SubVerbs(absl::string_view group) {
  std::vector<std::string> out;
  const std::string prefix = absl::StrCat(group, " ");
  for (const CommandSpec& c : CommandTable()) {
    if (absl::StartsWith(c.name, prefix)) out.push_back(std::string(c.name.substr(prefix.size())));
  }
  return out;
}

std::string FlagUsage(const FlagSpec& f) {
  std::string s = f.short_name ? absl::StrCat("-", std::string(1, f.short_name), ", --", f.name)
                               : absl::StrCat("    --", f.name);
  if (f.kind != FlagKind::kSwitch) absl::StrAppend(&s, " ", f.value_name);
  return s;
}

void AppendFlagLines(std::string& out, const std::vector<const FlagSpec*>& flags) {
  for (const FlagSpec* f : flags) {
    absl::StrAppendFormat(&out, "  %-30s %s\n", FlagUsage(*f), f->help);
  }
}

std::vector<const FlagSpec*> GlobalFlags() {
  std::vector<const FlagSpec*> out;
  for (const FlagSpec& f : kFlags) {
    if (f.global) out.push_back(&f);
  }
  return out;
}

// Checks a value's form by the flag's kind; ranges are the verb's (or ferryd's) business.
absl::Status CheckValue(absl::string_view command, const FlagSpec& f, const std::string& value) {
  if (f.kind == FlagKind::kUint) {
    uint64_t v;
    if (!absl::SimpleAtoi(value, &v) || absl::StartsWith(value, "-") ||
        absl::StartsWith(value, "+")) {
      return UsageError(command, absl::StrFormat("--%s: \"%s\" is not a whole number", f.name,
                                                 value));
    }
  } else if (f.kind == FlagKind::kDuration) {
    absl::Duration d;
    if (!absl::ParseDuration(value, &d) || d <= absl::ZeroDuration()) {
      return UsageError(command,
                        absl::StrFormat("--%s: \"%s\" is not a duration such as 500ms, 5s, 1m",
                                        f.name, value));
    }
  }
  return absl::OkStatus();
}

struct FlagUse {
  const FlagSpec* spec;
  std::string value;
};

// The first pass: flags (with their values) apart from positionals, by the flag table alone.
// Until the verb is known, errors name ferryctl as a whole.
absl::Status SplitFlags(absl::Span<const std::string> argv, std::vector<FlagUse>& uses,
                        std::vector<std::string>& positionals) {
  bool only_positionals = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (only_positionals || a.size() < 2 || a[0] != '-') {
      positionals.push_back(a);
      continue;
    }
    if (a == "--") {
      only_positionals = true;
      continue;
    }
    const FlagSpec* spec;
    std::string shown;  // the flag as written, for errors
    std::optional<std::string> attached;
    if (a[1] == '-') {
      const size_t eq = a.find('=');
      const std::string name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      shown = absl::StrCat("--", name);
      spec = FindLong(name);
      if (eq != std::string::npos) attached = a.substr(eq + 1);
    } else {
      shown = a.substr(0, 2);
      spec = FindShort(a[1]);
      if (a.size() > 2) attached = a.substr(a[2] == '=' ? 3 : 2);
    }
    if (spec == nullptr) return UsageError("", absl::StrCat("unknown flag ", shown));
    if (spec->kind == FlagKind::kSwitch) {
      if (attached) return UsageError("", absl::StrCat(shown, " takes no value"));
      uses.push_back({spec, ""});
    } else if (attached) {
      uses.push_back({spec, *attached});
    } else if (i + 1 < argv.size()) {
      uses.push_back({spec, argv[++i]});
    } else {
      return UsageError("", absl::StrCat(shown, " needs a value (", spec->value_name, ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Span<const CommandSpec> Commands() { return CommandTable(); }

absl::Status UsageError(absl::string_view command, absl::string_view message) {
  if (command.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ferryctl: ", message, "\nsee 'ferryctl --help'"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("ferryctl: ", command, ": ", message, "\nsee 'ferryctl ", command, " --help'"));
}

std::string Invocation::String(absl::string_view flag, absl::string_view fallback) const {
  auto it = flags.find(std::string(flag));
  return it == flags.end() ? std::string(fallback) : it->second;
}

uint64_t Invocation::Uint(absl::string_view flag, uint64_t fallback) const {
  auto it = flags.find(std::string(flag));
  uint64_t v;
  return it != flags.end() && absl::SimpleAtoi(it->second, &v) ? v : fallback;
}

absl::Duration Invocation::Duration(absl::string_view flag, absl::Duration fallback) const {
  auto it = flags.find(std::string(flag));
  absl::Duration d;
  return it != flags.end() && absl::ParseDuration(it->second, &d) ? d : fallback;
}

absl::StatusOr<Invocation> ParseCommandLine(absl::Span<const std::string> argv,
                                            const char* env_socket) {
  std::vector<FlagUse> uses;
  std::vector<std::string> positionals;
  if (absl::Status s = SplitFlags(argv, uses, positionals); !s.ok()) return s;

  Invocation inv;
  for (const FlagUse& u : uses) {
    if (u.spec->name == "help") inv.help = true;
  }

  // The verb: one word, or a group and its sub-verb.
  if (positionals.empty()) {
    if (inv.help) return inv;
    return UsageError("", "no verb given");
  }
  std::string verb = positionals[0];
  size_t consumed = 1;
  if (IsGroup(verb)) {
    if (positionals.size() < 2) {
      if (inv.help) {
        inv.group = verb;
        return inv;
      }
      return UsageError(verb, absl::StrCat("which one? ", absl::StrJoin(SubVerbs(verb), ", ")));
    }
    const std::string sub = positionals[1];
    verb = absl::StrCat(verb, " ", sub);
    consumed = 2;
    if (FindCommand(verb) == nullptr) {
      return UsageError(positionals[0],
                        absl::StrFormat("unknown verb \"%s\" (%s)", sub,
                                        absl::StrJoin(SubVerbs(positionals[0]), ", ")));
    }
  }
  inv.command = FindCommand(verb);
  if (inv.command == nullptr) return UsageError("", absl::StrFormat("unknown verb \"%s\"", verb));
  if (inv.help) return inv;
  const CommandSpec& cmd = *inv.command;

  // The flags, now that the verb is known.
  inv.global.socket = env_socket != nullptr && env_socket[0] != '\0' ? env_socket
                                                                     : std::string(kDefaultSocket);
  for (const FlagUse& u : uses) {
    const FlagSpec& f = *u.spec;
    if (!f.global &&
        std::find(cmd.flags.begin(), cmd.flags.end(), f.name) == cmd.flags.end()) {
      return UsageError(cmd.name, absl::StrCat("--", f.name, " does not apply to ", cmd.name));
    }
    if (absl::Status s = CheckValue(cmd.name, f, u.value); !s.ok()) return s;
    if (f.name == "socket") {
      if (u.value.empty()) return UsageError(cmd.name, "--socket: empty path");
      inv.global.socket = u.value;
    } else if (f.name == "address") {
      if (u.value.empty()) return UsageError(cmd.name, "--address: empty address");
      inv.global.address = u.value;
    } else if (f.name == "output") {
      if (u.value == "table") {
        inv.global.output = OutputFormat::kTable;
      } else if (u.value == "json") {
        inv.global.output = OutputFormat::kJson;
      } else {
        return UsageError(cmd.name, absl::StrFormat("-o: \"%s\" is not table or json", u.value));
      }
    } else if (f.name == "timeout") {
      absl::ParseDuration(u.value, &inv.global.timeout);
    } else {
      inv.flags[std::string(f.name)] = u.value;
    }
  }

  // The positionals.
  const int n = static_cast<int>(positionals.size() - consumed);
  const std::vector<absl::string_view> names = absl::StrSplit(cmd.arguments, ' ', absl::SkipEmpty());
  if (n < cmd.min_args) {
    return UsageError(cmd.name, absl::StrCat("missing ", names[n]));
  }
  if (n > cmd.max_args) {
    return UsageError(cmd.name,
                      absl::StrFormat("unexpected argument \"%s\"", positionals[consumed + cmd.max_args]));
  }
  inv.args.assign(positionals.begin() + consumed, positionals.end());

  // Flags that make sense only together.
  if (std::find(cmd.flags.begin(), cmd.flags.end(), "file") != cmd.flags.end() &&
      !inv.Has("file")) {
    return UsageError(cmd.name, "missing -f FILE");
  }
  for (absl::string_view f : {"interval", "count"}) {
    if (inv.Has(f) && !inv.Has("watch")) {
      return UsageError(cmd.name, absl::StrCat("--", f, " needs --watch"));
    }
  }
  return inv;
}

std::string HelpText(const Invocation& inv) {
  std::string out;
  if (inv.command == nullptr && inv.group.empty()) {
    out =
        "ferryctl: control a ferry appliance (ferryd) through its control socket.\n"
        "\n"
        "Usage: ferryctl [flags] VERB [arguments] [flags]\n"
        "\n"
        "Verbs:\n";
    for (const CommandSpec& c : CommandTable()) {
      absl::StrAppendFormat(&out, "  %-18s %s\n", c.name, c.summary);
    }
    out +=
        "\n"
        "Flags for every verb:\n";
    AppendFlagLines(out, GlobalFlags());
    absl::StrAppend(
        &out,
        "\n"
        "ferryd listens on ", kDefaultSocket,
        " unless its config (control.socket_path) says otherwise;\n"
        "$FERRY_SOCKET changes ferryctl's default. Root and the socket's group may use it.\n"
        "\n"
        "Exit codes:\n"
        "  0  done\n"
        "  1  the appliance refused (or the config is invalid); the message says why\n"
        "  2  usage: a bad verb, flag or argument, or an unreadable or unparseable -f file\n"
        "  3  the appliance is unreachable: no socket, no permission, or no answer in time\n"
        "\n"
        "'ferryctl VERB --help' tells more about a verb. docs/ferryctl.md has examples.\n");
    return out;
  }
  if (inv.command == nullptr) {
    absl::StrAppend(&out, "Usage: ferryctl ", inv.group, " VERB [arguments] [flags]\n\nVerbs:\n");
    for (const std::string& sub : SubVerbs(inv.group)) {
      const CommandSpec* c = FindCommand(absl::StrCat(inv.group, " ", sub));
      absl::StrAppendFormat(&out, "  %-18s %s\n", c->name, c->summary);
    }
    absl::StrAppend(&out, "\n'ferryctl ", inv.group, " VERB --help' tells more.\n");
    return out;
  }
  const CommandSpec& c = *inv.command;
  absl::StrAppend(&out, "Usage: ferryctl ", c.name);
  if (!c.arguments.empty()) absl::StrAppend(&out, " ", c.arguments);
  if (std::find(c.flags.begin(), c.flags.end(), "file") != c.flags.end()) out += " -f FILE";
  std::string summary(c.summary);
  summary[0] = absl::ascii_toupper(static_cast<unsigned char>(summary[0]));
  absl::StrAppend(&out, " [flags]\n\n", summary, ".\n", c.help);
  if (!c.flags.empty()) {
    out += "\nFlags:\n";
    std::vector<const FlagSpec*> own;
    for (absl::string_view name : c.flags) own.push_back(FindLong(name));
    AppendFlagLines(out, own);
  }
  out += "\nFlags for every verb:\n";
  AppendFlagLines(out, GlobalFlags());
  out += "\nExit codes: 0 done, 1 refused, 2 usage, 3 unreachable (ferryctl --help).\n";
  return out;
}

}  // namespace ferry::ferryctl
