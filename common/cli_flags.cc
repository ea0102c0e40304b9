#include "common/cli_flags.h"

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "absl/flags/internal/program_name.h"
#include "absl/flags/internal/usage.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/version.h"

namespace mt {

std::vector<std::string> UnderscoreFlagNames(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  bool flags_ended = false;
  for (const std::string& a : args) {
    if (flags_ended || a.size() < 2 || a[0] != '-') {
      out.push_back(a);
      continue;
    }
    if (a == "--") {
      flags_ended = true;
      out.push_back(a);
      continue;
    }
    std::string flag = a;
    const size_t start = flag[1] == '-' ? 2 : 1;
    const size_t end = std::min(flag.find('='), flag.size());
    for (size_t i = start; i < end; ++i) {
      if (flag[i] == '-') flag[i] = '_';
    }
    out.push_back(std::move(flag));
  }
  return out;
}

EarlyExit FindEarlyExit(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (a == "--") break;
    if (a == "--help" || a == "-help" || a == "-h" || a == "--helpfull" || a == "--helpshort") {
      return EarlyExit::kHelp;
    }
    if (a == "--version" || a == "-version") return EarlyExit::kVersion;
  }
  return EarlyExit::kNone;
}

void ParseFlags(int argc, char** argv, const char* program) {
  std::vector<std::string> args =
      UnderscoreFlagNames(std::vector<std::string>(argv + 1, argv + argc));
  // What absl's usage text starts with (ParseCommandLine would set it too, later).
  absl::flags_internal::SetProgramInvocationName(argc > 0 ? argv[0] : program);
  switch (FindEarlyExit(args)) {
    case EarlyExit::kVersion:
      std::printf("%s %s\n", program, kVersion);
      std::exit(0);
    case EarlyExit::kHelp:
      // absl's own --help handler, in the mode --help selects; only its exit status differs.
      absl::flags_internal::SetFlagsHelpMode(absl::flags_internal::HelpMode::kImportant);
      absl::flags_internal::HandleUsageFlags(std::cout, absl::ProgramUsageMessage());
      std::cout.flush();
      std::exit(0);
    case EarlyExit::kNone:
      break;
  }
  // absl keeps pointers into argv for nothing after parsing; these strings outlive the call.
  static std::vector<std::string>* kept = new std::vector<std::string>();
  kept->assign(1, argv[0]);
  kept->insert(kept->end(), args.begin(), args.end());
  std::vector<char*> ptrs;
  for (std::string& s : *kept) ptrs.push_back(s.data());
  ptrs.push_back(nullptr);
  absl::ParseCommandLine(static_cast<int>(kept->size()), ptrs.data());
}

}  // namespace mt
