// Command lines of mt-train and the daemon (absl flags): the same spellings mt-client takes.
// absl names flags with underscores (--train_size); mt-client's are dashed (--train-size) and
// accept underscores too, so these accept dashes too. absl 20220623 (Debian 12) exits with 1
// after --help; a help that was asked for is not a failure, so --help here exits 0. --version
// prints mt's version.
#ifndef MT_COMMON_CLI_FLAGS_H_
#define MT_COMMON_CLI_FLAGS_H_

#include <string>
#include <vector>

namespace mt {

// "--train-size=5" -> "--train_size=5", "-batch-size" -> "-batch_size"; only the name of each
// flag before "--" changes (values, positionals and everything after "--" are kept).
std::vector<std::string> UnderscoreFlagNames(const std::vector<std::string>& args);

enum class EarlyExit { kNone, kHelp, kVersion };
// --help / -h / --helpfull / --helpshort (kHelp) or --version (kVersion) before "--"; the
// first one wins.
EarlyExit FindEarlyExit(const std::vector<std::string>& args);

// For main(): rewrites the flag names, answers --help (usage and this program's flags, as
// absl's FlagsUsageConfig selects them, exit 0) and --version ("`program` VERSION", exit 0),
// then absl::ParseCommandLine. Call after absl::SetProgramUsageMessage / SetFlagsUsageConfig.
void ParseFlags(int argc, char** argv, const char* program);

}  // namespace mt

#endif  // MT_COMMON_CLI_FLAGS_H_
