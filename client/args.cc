#include "client/args.h"

#include <cmath>
#include <map>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace mt::client {
namespace {

struct FlagDef {
  const char* name;
  bool takes_value;
  char short_name = 0;  // e.g. 'f' for -f
};

// Flags every command accepts, wherever they appear on the line.
const std::vector<FlagDef>& GlobalFlags() {
  static const auto* flags =
      new std::vector<FlagDef>{{"server", true},    {"json", false},
                               {"tls-ca", true},    {"token-file", true},
                               {"help", false, 'h'}, {"version", false}};
  return *flags;
}

struct CommandDef {
  Command command;
  const char* name;
  const char* synopsis;  // after "mt-client "
  const char* summary;
  const char* details;  // flags and notes, for `help COMMAND`
  std::vector<FlagDef> flags;
};

const std::vector<CommandDef>& Commands() {
  static const auto* commands = new std::vector<CommandDef>{
      {Command::kSubmit,
       "submit",
       "submit mnist|sst2 [options] [--follow]",
       "queue a training job and print its id",
       "  TASK                 mnist | sst2, or any other task the daemon has (it lists\n"
       "                       its tasks when given one it lacks)\n"
       "  --model M            mnist: lenet5 (default) | minitorch_mnist; sst2: kim_cnn\n"
       "  --epochs N           epochs to train (default: per model)\n"
       "  --batch-size N       mini-batch size (default: per model)\n"
       "  --lr X               learning rate (default: per model)\n"
       "  --optimizer sgd|adam (default: per model)\n"
       "  --momentum X         SGD momentum (default: per model)\n"
       "  --lr-decay X         multiply the learning rate by X after every epoch\n"
       "  --train-size N       train on the first N examples (default: all)\n"
       "  --valid-size N       validate on the first N held-out examples (default: all)\n"
       "  --seed N             seed for initialisation, shuffling and dropout (default: 1)\n"
       "  --device D           auto | cpu | cuda:N (default: auto)\n"
       "  --threads N          CPU threads (default: every core of the device)\n"
       "  --embeddings FILE    sst2: GloVe text file on the daemon's machine (a relative\n"
       "                       path is made absolute from the current directory)\n"
       "  --embedding-dim N    sst2: embedding size (must match --embeddings)\n"
       "  --name NAME          a label shown by list and status (at most 64 bytes)\n"
       "  -f, --follow         then follow the job like `logs -f`; the exit status is the job's\n",
       {{"name", true},
        {"model", true},
        {"epochs", true},
        {"batch-size", true},
        {"lr", true},
        {"optimizer", true},
        {"momentum", true},
        {"lr-decay", true},
        {"train-size", true},
        {"valid-size", true},
        {"seed", true},
        {"device", true},
        {"threads", true},
        {"embeddings", true},
        {"embedding-dim", true},
        {"follow", false, 'f'}}},
      {Command::kLogs,
       "logs",
       "logs JOB [-f|--follow] [--from EPOCH]",
       "a job's state changes and epochs; -f follows it to the end",
       "  -f, --follow         keep following until the job ends (reconnects if the daemon\n"
       "                       restarts); exit status 0 if it SUCCEEDED, 1 otherwise\n"
       "  --from EPOCH         start at the first event of epoch EPOCH\n",
       {{"follow", false, 'f'}, {"from", true}}},
      {Command::kList,
       "list",
       "list [--state STATE] [--wide]",
       "jobs, newest first, fitted to the terminal",
       "  --state STATE        only jobs in STATE: queued | running | succeeded | failed |\n"
       "                       cancelled | interrupted\n"
       "  --wide               every column in full (full times, devices, best epochs), however\n"
       "                       wide\n",
       {{"state", true}, {"wide", false}}},
      {Command::kStatus, "status", "status JOB",
       "one job in detail; a running one with its progress and ETA", "", {}},
      {Command::kCancel,
       "cancel",
       "cancel JOB",
       "stop a queued or running job (a running one stops between batches)",
       "",
       {}},
      {Command::kResume,
       "resume",
       "resume JOB [--follow]",
       "continue an interrupted or cancelled job from its last checkpoint",
       "  -f, --follow         then follow the job like `logs -f`\n",
       {{"follow", false, 'f'}}},
      {Command::kActivations,
       "activations",
       "activations JOB --out DIR (--index K | --image FILE | --text \"...\") [--epoch N|best]",
       "every layer's output for one input, from the latest checkpoint",
       "  --out DIR            write DIR/<layer>.f32 (little-endian float32), DIR/<layer>.json\n"
       "                       (shape) and, for (N,C,H,W) and (N,C,L) layers, DIR/<layer>.png;\n"
       "                       and the input: DIR/input.png (images) or DIR/input.txt (text)\n"
       "  --index K            example K of the held-out split\n"
       "  --image FILE         mnist: a PNG or JPEG of any size, gray or colour; made 28x28\n"
       "                       grayscale here (MNIST digits are light on dark)\n"
       "  --invert             swap light and dark of --image (for a dark digit on white)\n"
       "  --text \"...\"         sst2: a sentence\n"
       "  --epoch N|best       the checkpoint of epoch N, or of the best epoch\n",
       {{"out", true},
        {"index", true},
        {"image", true},
        {"text", true},
        {"epoch", true},
        {"invert", false}}},
      {Command::kPredict,
       "predict",
       "predict JOB (--index K | --image FILE | --text \"...\") [--epoch N|best] [--out DIR]",
       "class probabilities for one input, from the latest checkpoint",
       "  --index K            example K of the held-out split (its true label is shown)\n"
       "  --image FILE         mnist: a PNG or JPEG of any size, gray or colour; made 28x28\n"
       "                       grayscale here (MNIST digits are light on dark)\n"
       "  --invert             swap light and dark of --image (for a dark digit on white)\n"
       "  --text \"...\"         sst2: a sentence\n"
       "  --epoch N|best       the checkpoint of epoch N, or of the best epoch\n"
       "  --out DIR            also save the input the model saw: DIR/input.png or\n"
       "                       DIR/input.txt\n",
       {{"index", true},
        {"image", true},
        {"text", true},
        {"epoch", true},
        {"out", true},
        {"invert", false}}},
      {Command::kExport,
       "export",
       "export JOB --out FILE.safetensors [--epoch N|best]",
       "download the latest checkpoint's weights",
       "  --out FILE           where to write (an existing folder gets JOB.safetensors)\n"
       "  --epoch N|best       the checkpoint of epoch N, or of the best epoch\n",
       {{"out", true}, {"epoch", true}}},
      {Command::kDevices, "devices", "devices", "devices, their capacity and queues", "", {}},
      {Command::kDelete,
       "delete",
       "delete JOB",
       "remove a finished job, its history and its checkpoints from the daemon",
       "  A queued or running job is refused: `mt-client cancel JOB` first.\n",
       {}},
      {Command::kPrune,
       "prune",
       "prune (--older-than AGE | --all) [--yes]",
       "remove finished jobs (yours) and their files; lists them unless --yes",
       "  --older-than AGE     finished jobs created more than AGE ago: 90s, 30m, 12h, 7d, 2w\n"
       "  --all                every finished job\n"
       "  --yes                delete them; without it, only show which would go\n",
       {{"older-than", true}, {"all", false}, {"yes", false}}},
      {Command::kHelp, "help", "help [COMMAND]", "this text, or one command's", "", {}},
  };
  return *commands;
}

const CommandDef* FindCommand(const std::string& name) {
  for (const CommandDef& c : Commands()) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

const CommandDef& DefOf(Command command) {
  for (const CommandDef& c : Commands()) {
    if (c.command == command) return c;
  }
  return Commands().back();
}

const FlagDef* FindFlag(const std::vector<FlagDef>& flags, const std::string& name,
                        char short_name) {
  for (const FlagDef& f : flags) {
    if (short_name ? f.short_name == short_name : name == f.name) return &f;
  }
  return nullptr;
}

absl::Status Invalid(const std::string& message) { return absl::InvalidArgumentError(message); }

// Whole numbers only: "1e3" or "12.0" for an epoch count is more likely a mistake than intent.
absl::StatusOr<int64_t> ParseInt(const std::string& flag, const std::string& value, int64_t min) {
  int64_t v = 0;
  if (!absl::SimpleAtoi(value, &v) || v < min) {
    return Invalid(
        absl::StrCat("--", flag, " expects a whole number >= ", min, ", got '", value, "'"));
  }
  return v;
}

absl::StatusOr<double> ParsePositiveDouble(const std::string& flag, const std::string& value,
                                           bool allow_zero) {
  double v = 0;
  if (!absl::SimpleAtod(value, &v) || !std::isfinite(v) || v < 0 || (!allow_zero && v == 0)) {
    return Invalid(absl::StrCat("--", flag, " expects a number ", allow_zero ? ">= 0" : "> 0",
                                ", got '", value, "'"));
  }
  return v;
}

absl::StatusOr<bool> ParseBool(const std::string& flag, const std::string& value) {
  std::string v = absl::AsciiStrToLower(value);
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  return Invalid(absl::StrCat("--", flag, " takes no value, got '", value, "'"));
}

bool ValidDevice(const std::string& d) {
  if (d == "auto" || d == "cpu") return true;
  if (d.rfind("cuda:", 0) != 0 || d.size() == 5) return false;
  for (size_t i = 5; i < d.size(); ++i) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(d[i]))) return false;
  }
  return true;
}

std::optional<v1::JobState> StateFromName(const std::string& name) {
  std::string n = absl::AsciiStrToUpper(name);
  for (v1::JobState s :
       {v1::QUEUED, v1::RUNNING, v1::SUCCEEDED, v1::FAILED, v1::CANCELLED, v1::INTERRUPTED}) {
    if (n == v1::JobState_Name(s)) return s;
  }
  return std::nullopt;
}

// One flag occurrence, as written (after --name=value / --name value is resolved).
struct FlagUse {
  std::string name;
  std::string value;
  bool has_value = false;
};

struct Tokens {
  const CommandDef* command = nullptr;
  bool help = false;
  bool version = false;
  std::vector<FlagUse> flags;
  std::vector<std::string> positionals;
};

// Splits argv into the command, its flags and its positionals. Keeps scanning after an error so
// that `--help` anywhere still wins over a mistake elsewhere on the line.
absl::Status Tokenize(const std::vector<std::string>& argv, Tokens* out) {
  absl::Status first_error;
  auto fail = [&first_error](absl::Status s) {
    if (first_error.ok()) first_error = std::move(s);
  };
  bool only_positionals = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (only_positionals || a.size() < 2 || a[0] != '-') {
      if (out->command == nullptr) {
        out->command = FindCommand(a);
        if (out->command == nullptr) {
          fail(Invalid(absl::StrCat("unknown command '", a, "'")));
          return first_error;  // what follows cannot be interpreted
        }
      } else {
        out->positionals.push_back(a);
      }
      continue;
    }
    if (a == "--") {
      only_positionals = true;
      continue;
    }
    // "-f", "--name", "--name=value"; '_' is accepted for '-' since mt-train spells flags so.
    std::string name;
    std::string inline_value;
    bool has_inline = false;
    char short_name = 0;
    if (a[1] != '-') {
      if (a.size() != 2) {
        fail(Invalid(absl::StrCat("unknown flag ", a)));
        continue;
      }
      short_name = a[1];
    } else {
      name = a.substr(2);
      if (size_t eq = name.find('='); eq != std::string::npos) {
        inline_value = name.substr(eq + 1);
        name.resize(eq);
        has_inline = true;
      }
      for (char& c : name) {
        if (c == '_') c = '-';
      }
    }
    const FlagDef* def = FindFlag(GlobalFlags(), name, short_name);
    if (def == nullptr && out->command != nullptr) {
      def = FindFlag(out->command->flags, name, short_name);
    }
    if (def == nullptr) {
      std::string shown = short_name ? a : "--" + name;
      if (out->command == nullptr) {
        fail(Invalid(absl::StrCat("unknown flag ", shown, " (a command's flags go after it)")));
      } else {
        fail(Invalid(absl::StrCat("unknown flag ", shown, " for ", out->command->name)));
      }
      continue;
    }
    FlagUse use{def->name, "", false};
    if (def->takes_value) {
      if (has_inline) {
        use.value = inline_value;
      } else if (i + 1 < argv.size()) {
        use.value = argv[++i];
      } else {
        fail(Invalid(absl::StrCat("--", def->name, " needs a value")));
        continue;
      }
      if (use.value.empty()) {
        fail(Invalid(absl::StrCat("--", def->name, " needs a value")));
        continue;
      }
      use.has_value = true;
    } else if (has_inline) {
      absl::StatusOr<bool> b = ParseBool(def->name, inline_value);
      if (!b.ok()) {
        fail(b.status());
        continue;
      }
      if (!*b) continue;  // --follow=false: as if absent
    }
    if (use.name == "help") {
      out->help = true;
      continue;
    }
    if (use.name == "version") {
      out->version = true;
      continue;
    }
    for (const FlagUse& earlier : out->flags) {
      if (earlier.name == use.name) {
        fail(Invalid(absl::StrCat("--", use.name, " given twice")));
      }
    }
    out->flags.push_back(std::move(use));
  }
  return first_error;
}

absl::Status ApplySubmitFlag(const FlagUse& f, v1::JobSpec* spec) {
  const std::string& v = f.value;
  if (f.name == "name") {
    // The daemon checks it too; caught here, the mistake costs no round trip.
    if (v.size() > 64) {
      return Invalid(absl::StrCat("--name is ", v.size(), " bytes long; at most 64 are allowed"));
    }
    for (unsigned char c : v) {
      if (c < 0x20 || c == 0x7f) return Invalid("--name must be one line of printable text");
    }
    spec->set_name(v);
  } else if (f.name == "model") {
    spec->set_model(v);
  } else if (f.name == "epochs") {
    absl::StatusOr<int64_t> n = ParseInt(f.name, v, 1);
    if (!n.ok()) return n.status();
    spec->set_epochs(*n);
  } else if (f.name == "batch-size") {
    absl::StatusOr<int64_t> n = ParseInt(f.name, v, 1);
    if (!n.ok()) return n.status();
    spec->set_batch_size(*n);
  } else if (f.name == "lr") {
    absl::StatusOr<double> x = ParsePositiveDouble(f.name, v, /*allow_zero=*/false);
    if (!x.ok()) return x.status();
    spec->set_learning_rate(*x);
  } else if (f.name == "optimizer") {
    if (v != "sgd" && v != "adam") {
      return Invalid(absl::StrCat("--optimizer expects sgd or adam, got '", v, "'"));
    }
    spec->set_optimizer(v);
  } else if (f.name == "momentum") {
    absl::StatusOr<double> x = ParsePositiveDouble(f.name, v, /*allow_zero=*/true);
    if (!x.ok()) return x.status();
    spec->set_momentum(*x);
  } else if (f.name == "lr-decay") {
    absl::StatusOr<double> x = ParsePositiveDouble(f.name, v, /*allow_zero=*/false);
    if (!x.ok()) return x.status();
    spec->set_lr_decay(*x);
  } else if (f.name == "train-size") {
    absl::StatusOr<int64_t> n = ParseInt(f.name, v, 1);
    if (!n.ok()) return n.status();
    spec->set_train_size(*n);
  } else if (f.name == "valid-size") {
    absl::StatusOr<int64_t> n = ParseInt(f.name, v, 1);
    if (!n.ok()) return n.status();
    spec->set_valid_size(*n);
  } else if (f.name == "seed") {
    uint64_t seed = 0;
    if (!absl::SimpleAtoi(v, &seed) || v[0] == '-') {
      return Invalid(absl::StrCat("--seed expects a whole number >= 0, got '", v, "'"));
    }
    spec->set_seed(seed);
  } else if (f.name == "device") {
    if (!ValidDevice(v)) {
      return Invalid(absl::StrCat("--device expects auto, cpu or cuda:N, got '", v, "'"));
    }
    spec->set_device(v);
  } else if (f.name == "threads") {
    absl::StatusOr<int64_t> n = ParseInt(f.name, v, 0);
    if (!n.ok()) return n.status();
    if (*n > (1 << 20)) return Invalid(absl::StrCat("--threads: ", v, " is too many"));
    spec->set_threads(static_cast<int32_t>(*n));
  } else if (f.name == "embeddings") {
    spec->set_embeddings_file(v);
  } else if (f.name == "embedding-dim") {
    absl::StatusOr<int64_t> n = ParseInt(f.name, v, 1);
    if (!n.ok()) return n.status();
    spec->set_embedding_dim(*n);
  }
  return absl::OkStatus();
}

absl::Status ApplyInputFlag(const FlagUse& f, InputArg* input) {
  if (input->kind != InputArg::Kind::kNone) {
    return Invalid("give only one input: --index, --image or --text");
  }
  if (f.name == "index") {
    absl::StatusOr<int64_t> n = ParseInt(f.name, f.value, 0);
    if (!n.ok()) return n.status();
    input->kind = InputArg::Kind::kIndex;
    input->index = *n;
  } else if (f.name == "image") {
    input->kind = InputArg::Kind::kImage;
    input->image_path = f.value;
  } else {
    input->kind = InputArg::Kind::kText;
    input->text = f.value;
  }
  return absl::OkStatus();
}

}  // namespace

const char* CommandName(Command command) { return DefOf(command).name; }

absl::StatusOr<int64_t> ParseAge(const std::string& value) {
  auto bad = [&value] {
    return Invalid(absl::StrCat("--older-than expects a whole number and a unit (s, m, h, d or "
                                "w), e.g. 7d; got '",
                                value, "'"));
  };
  if (value.size() < 2) return bad();
  int64_t unit = 0;
  switch (value.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case 'w': unit = 7 * 86400; break;
    default: return bad();
  }
  int64_t n = 0;
  const std::string digits = value.substr(0, value.size() - 1);
  for (char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return bad();
  }
  if (!absl::SimpleAtoi(digits, &n) || n < 1) return bad();
  constexpr int64_t kCentury = int64_t{100} * 366 * 86400;  // what the daemon accepts
  if (n > kCentury / unit) {
    return Invalid(absl::StrCat("--older-than ", value, " is more than 100 years"));
  }
  return n * unit;
}

absl::StatusOr<Args> ParseArgs(const std::vector<std::string>& argv,
                               const std::string& env_server) {
  Tokens tokens;
  absl::Status token_status = Tokenize(argv, &tokens);
  Args args;
  if (tokens.help) {
    args.command = Command::kHelp;
    if (tokens.command != nullptr && tokens.command->command != Command::kHelp) {
      args.help_topic = tokens.command->name;
    }
    return args;
  }
  if (!token_status.ok()) return token_status;
  if (tokens.version) {
    args.command = Command::kVersion;
    return args;
  }
  if (tokens.command == nullptr) return Invalid("no command given");
  args.command = tokens.command->command;
  if (!env_server.empty()) args.server = env_server;

  const char* name = tokens.command->name;
  for (const FlagUse& f : tokens.flags) {
    absl::Status s;
    if (f.name == "server") {
      args.server = f.value;
      args.server_from_flag = true;
    } else if (f.name == "json") {
      args.json = true;
    } else if (f.name == "tls-ca") {
      args.tls_ca = f.value;
    } else if (f.name == "token-file") {
      args.token_file = f.value;
    } else if (f.name == "follow") {
      args.follow = true;
    } else if (f.name == "from") {
      absl::StatusOr<int64_t> n = ParseInt(f.name, f.value, 1);
      s = n.status();
      if (n.ok()) args.from_epoch = *n;
    } else if (f.name == "state") {
      std::optional<v1::JobState> state = StateFromName(f.value);
      if (!state) {
        s =
            Invalid(absl::StrCat("--state expects queued, running, succeeded, failed, cancelled "
                                 "or interrupted, got '",
                                 f.value, "'"));
      } else {
        args.state_filter = *state;
      }
    } else if (f.name == "out") {
      args.out = f.value;
    } else if (f.name == "epoch") {
      if (f.value == "best") {
        args.best_epoch = true;
      } else {
        absl::StatusOr<int64_t> n = ParseInt(f.name, f.value, 1);
        if (n.ok()) {
          args.epoch = *n;
        } else {
          s = Invalid(absl::StrCat("--epoch expects an epoch number (1, 2, ...) or best, got '",
                                   f.value, "'"));
        }
      }
    } else if (f.name == "wide") {
      args.wide = true;
    } else if (f.name == "invert") {
      args.input.invert = true;
    } else if (f.name == "older-than") {
      absl::StatusOr<int64_t> age = ParseAge(f.value);
      s = age.status();
      if (age.ok()) {
        args.older_than_seconds = *age;
        args.older_than = f.value;
      }
    } else if (f.name == "all") {
      args.prune_all = true;
    } else if (f.name == "yes") {
      args.yes = true;
    } else if (f.name == "index" || f.name == "image" || f.name == "text") {
      s = ApplyInputFlag(f, &args.input);
    } else {
      s = ApplySubmitFlag(f, &args.spec);
    }
    if (!s.ok()) return s;
  }

  // Positionals: submit's task, the job id, or help's topic.
  size_t wanted = 0;
  switch (args.command) {
    case Command::kHelp:
      if (!tokens.positionals.empty()) {
        const CommandDef* topic = FindCommand(tokens.positionals[0]);
        if (topic == nullptr) {
          return Invalid(absl::StrCat("unknown command '", tokens.positionals[0], "'"));
        }
        if (topic->command != Command::kHelp) args.help_topic = topic->name;
        wanted = 1;
      }
      break;
    case Command::kSubmit: {
      if (tokens.positionals.empty()) return Invalid("submit needs a task: mnist or sst2");
      // The daemon knows its tasks and names them when given another; the client passes the
      // name through, so a new task on the daemon needs no new client.
      args.spec.set_task(tokens.positionals[0]);
      wanted = 1;
      break;
    }
    case Command::kList:
    case Command::kDevices:
    case Command::kPrune:
      break;
    default:
      if (tokens.positionals.empty()) return Invalid(absl::StrCat(name, " needs a JOB id"));
      args.job_id = tokens.positionals[0];
      wanted = 1;
  }
  if (tokens.positionals.size() > wanted) {
    return Invalid(absl::StrCat("unexpected argument '", tokens.positionals[wanted], "'"));
  }

  if (args.command == Command::kSubmit) {
    if (args.spec.task() != "sst2" &&
        (!args.spec.embeddings_file().empty() || args.spec.embedding_dim() != 0)) {
      return Invalid("--embeddings and --embedding-dim apply to sst2 only");
    }
    // Proto3 cannot tell "momentum 0" from "not given"; the API reserves < 0 for the default.
    bool momentum_given = false;
    for (const FlagUse& f : tokens.flags) momentum_given |= f.name == "momentum";
    if (!momentum_given) args.spec.set_momentum(-1);
  }
  if (args.command == Command::kActivations || args.command == Command::kPredict) {
    if (args.input.kind == InputArg::Kind::kNone) {
      return Invalid(absl::StrCat(name,
                                  " needs an input: --index K, --image FILE or --text "
                                  "\"...\""));
    }
  }
  if (args.command == Command::kActivations && args.out.empty()) {
    return Invalid("activations needs --out DIR");
  }
  if (args.command == Command::kExport && args.out.empty()) {
    return Invalid("export needs --out FILE");
  }
  if (args.input.invert && args.input.kind != InputArg::Kind::kImage) {
    return Invalid("--invert applies to --image only");
  }
  if (args.command == Command::kPrune) {
    if (args.prune_all == (args.older_than_seconds > 0)) {
      return Invalid(args.prune_all ? "give --older-than AGE or --all, not both"
                                    : "prune needs --older-than AGE (e.g. 7d) or --all");
    }
  }
  if (args.server.empty()) return Invalid("--server needs a value");
  return args;
}

std::string UsageText() {
  std::string s =
      "mt-client: the command-line client of the mt training daemon\n"
      "\n"
      "usage: mt-client [--server HOST:PORT] [--json] COMMAND [ARGS]\n"
      "\n"
      "commands:\n";
  for (const CommandDef& c : Commands()) {
    absl::StrAppend(&s, "  ", c.synopsis, "\n      ", c.summary, "\n");
    if (c.command == Command::kLogs) {
      // Parsed before these commands (client/metrics_command.h), listed with them.
      absl::StrAppend(&s,
                      "  metrics JOB [--csv]\n      a job's history: losses, accuracies, learning "
                      "rate and speed per epoch, training loss every few batches\n");
    }
  }
  absl::StrAppend(
      &s,
      "\n"
      "global flags (anywhere on the line):\n"
      "  --server HOST:PORT   the daemon (default: $MT_SERVER, else ",
      kDefaultServer,
      ")\n"
      "  --json               machine-readable output: one JSON document, or one JSON object\n"
      "                       per line for streams (logs, --follow)\n"
      "  --tls-ca FILE        connect with TLS, trusting the CA certificate in FILE (PEM)\n"
      "  --token-file FILE    send the bearer token in FILE (default: $MT_TOKEN, if set)\n"
      "  -h, --help           this text; `mt-client COMMAND --help` for one command\n"
      "  --version            the version of mt-client\n"
      "\n"
      "Flags take --flag=value or --flag value.\n"
      "Exit status: 0 success; 1 an error, or a followed job that did not succeed;\n"
      "2 a usage error; 130 interrupted (Ctrl-C).\n");
  return s;
}

std::string CommandHelp(Command command) {
  if (command == Command::kHelp) return UsageText();
  const CommandDef& c = DefOf(command);
  std::string s = absl::StrCat("usage: mt-client ", c.synopsis, "\n\n", c.summary, "\n");
  if (*c.details != '\0') absl::StrAppend(&s, "\nflags:\n", c.details);
  absl::StrAppend(&s,
                  "\nglobal flags: --server HOST:PORT, --json, --help (see `mt-client --help`)\n");
  return s;
}

std::string UsageHint(const std::vector<std::string>& argv) {
  for (const std::string& a : argv) {
    if (const CommandDef* c = FindCommand(a); c != nullptr && c->command != Command::kHelp) {
      return absl::StrCat("usage: mt-client ", c->synopsis, "\n(`mt-client help ", c->name,
                          "` for details)\n");
    }
  }
  return "usage: mt-client [--server HOST:PORT] [--json] COMMAND [ARGS]\n"
         "(`mt-client --help` lists the commands)\n";
}

}  // namespace mt::client
