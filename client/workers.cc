#include "client/workers.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace mt::client {

absl::StatusOr<int32_t> TakeWorkersFlag(std::vector<std::string>* argv) {
  if (std::find(argv->begin(), argv->end(), "submit") == argv->end()) return 0;
  int32_t workers = 0;
  bool seen = false;
  std::vector<std::string> rest;
  for (size_t i = 0; i < argv->size(); ++i) {
    const std::string& a = (*argv)[i];
    std::string value;
    if (a == "--workers") {
      if (i + 1 >= argv->size()) return absl::InvalidArgumentError("--workers needs a value");
      value = (*argv)[++i];
    } else if (a.rfind("--workers=", 0) == 0) {
      value = a.substr(10);
    } else {
      rest.push_back(a);
      continue;
    }
    if (seen) return absl::InvalidArgumentError("--workers given twice");
    seen = true;
    if (!absl::SimpleAtoi(value, &workers) || workers < 1 || workers > kMaxWorkersFlag) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--workers expects a whole number from 1 to ", kMaxWorkersFlag, " (worker processes), got '",
          value.substr(0, 20), "'"));
    }
  }
  *argv = std::move(rest);
  return workers;
}

std::string WorkersNote(int32_t world_size) {
  return world_size > 1 ? absl::StrCat(" (", world_size, " workers)") : "";
}

std::string WorkersDetail(const v1::Job& job) {
  if (job.world_size() <= 1) return "";
  const int64_t batch = job.spec().batch_size();
  return absl::StrCat("workers: ", job.world_size(), " processes (batch ", batch, " each, ",
                      batch * job.world_size(), " in all)");
}

}  // namespace mt::client
