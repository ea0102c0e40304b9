// mt-client's command line: one subcommand with its own flags, plus global flags that may appear
// anywhere. Hand-written because absl flags has no notion of subcommands; pure (no I/O) so every
// good and bad form is unit-tested.
#ifndef MT_CLIENT_ARGS_H_
#define MT_CLIENT_ARGS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/training.pb.h"

namespace mt::client {

inline constexpr char kDefaultServer[] = "127.0.0.1:50051";

enum class Command {
  kHelp,
  kSubmit,
  kLogs,
  kList,
  kStatus,
  kCancel,
  kResume,
  kActivations,
  kPredict,
  kExport,
  kDevices,
  kDelete,
  kPrune,
  kVersion,  // --version anywhere on the line
};

// The example a model is run on (predict, activations): exactly one is given.
struct InputArg {
  enum class Kind { kNone, kIndex, kImage, kText };
  Kind kind = Kind::kNone;
  int64_t index = 0;       // --index: an example of the held-out split
  std::string image_path;  // --image: a PNG or JPEG file here, any size (see image_input.h)
  bool invert = false;     // --invert: swap light and dark of --image
  std::string text;        // --text: a sentence (sst2)
};

struct Args {
  Command command = Command::kHelp;
  std::string help_topic;  // kHelp: a command name, or "" for the overview

  std::string server = kDefaultServer;
  bool server_from_flag = false;  // so hints can repeat --server when the user needed it
  bool json = false;
  std::string tls_ca;      // --tls-ca: PEM CA certificate; set: connect with TLS
  std::string token_file;  // --token-file: holds the bearer token (else $MT_TOKEN)

  std::string job_id;
  v1::JobSpec spec;  // submit; unset fields mean "the daemon's default"
  bool follow = false;
  int64_t from_epoch = 0;                                 // logs --from; 0 = the whole history
  v1::JobState state_filter = v1::JOB_STATE_UNSPECIFIED;  // list --state
  InputArg input;
  std::string out;  // activations, predict: a folder; export: a file
  // --epoch N|best (predict, activations, export): 0 and !best_epoch = the latest checkpoint.
  int64_t epoch = 0;
  bool best_epoch = false;
  bool wide = false;                // list --wide: every column in full
  int64_t older_than_seconds = 0;   // prune --older-than
  std::string older_than;           // as typed, for hints
  bool prune_all = false;           // prune --all
  bool yes = false;                 // prune --yes: really delete (else only list)
};

// "90s", "15m", "12h", "7d", "2w" (a whole number and a unit) as seconds; InvalidArgument
// naming --older-than otherwise, or beyond 100 years.
absl::StatusOr<int64_t> ParseAge(const std::string& value);

// Parses argv without the program name. `env_server` is $MT_SERVER ("" when unset). Errors are
// InvalidArgument with a message naming the problem (the flag, the value, what is allowed).
absl::StatusOr<Args> ParseArgs(const std::vector<std::string>& argv, const std::string& env_server);

// `mt-client --help`.
std::string UsageText();
// `mt-client help COMMAND`: synopsis, description and every flag of one command.
std::string CommandHelp(Command command);
// What to print after a parse error: the synopsis of the command named in argv (if any) and
// where to read more.
std::string UsageHint(const std::vector<std::string>& argv);

const char* CommandName(Command command);

}  // namespace mt::client

#endif  // MT_CLIENT_ARGS_H_
