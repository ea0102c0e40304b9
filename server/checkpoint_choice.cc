#include "server/checkpoint_choice.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/runner.h"

namespace mt::server {
namespace {

namespace fs = std::filesystem;

constexpr char kPrefix[] = "epoch-";
constexpr char kSuffix[] = ".safetensors";

std::string EpochPath(const std::string& job_dir, int64_t epoch) {
  return absl::StrCat(job_dir, "/", kPrefix, epoch, kSuffix);
}

// "1-3", "1, 3, 5-7": short even for a long job.
std::string Ranges(const std::vector<int64_t>& epochs) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < epochs.size();) {
    size_t j = i;
    while (j + 1 < epochs.size() && epochs[j + 1] == epochs[j] + 1) ++j;
    parts.push_back(j == i ? absl::StrCat(epochs[i]) : absl::StrCat(epochs[i], "-", epochs[j]));
    i = j + 1;
  }
  return absl::StrJoin(parts, ", ");
}

}  // namespace

std::vector<int64_t> CheckpointEpochs(const std::string& job_dir) {
  std::vector<int64_t> out;
  std::error_code ec;
  for (fs::directory_iterator it(job_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const std::string prefix = kPrefix, suffix = kSuffix;
    if (name.size() <= prefix.size() + suffix.size() || name.rfind(prefix, 0) != 0 ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    int64_t epoch = 0;
    if (absl::SimpleAtoi(name.substr(prefix.size(), name.size() - prefix.size() - suffix.size()),
                         &epoch) &&
        epoch > 0) {
      out.push_back(epoch);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<std::string> ChooseCheckpoint(const std::string& job_dir, const std::string& job_id,
                                             int64_t best_epoch, const CheckpointChoice& which) {
  if (which.epoch < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--epoch must be a finished epoch (1, 2, ...) or best, got ", which.epoch));
  }
  if (!which.best && which.epoch == 0) return LatestCheckpointPath(job_dir);
  const int64_t epoch = which.best ? best_epoch : which.epoch;
  if (epoch == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "job ", job_id, " has not finished an epoch yet, so it has no best checkpoint"));
  }
  const std::string path = EpochPath(job_dir, epoch);
  std::error_code ec;
  if (fs::exists(path, ec)) return path;
  const std::vector<int64_t> have = CheckpointEpochs(job_dir);
  if (have.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", job_id, " has no checkpoints: no epoch has finished"));
  }
  return absl::NotFoundError(absl::StrCat("job ", job_id, " has no checkpoint of ",
                                          which.best ? "its best epoch, " : "epoch ", epoch,
                                          "; it has epoch", have.size() == 1 ? " " : "s ",
                                          Ranges(have), " (--epoch N or --epoch best)"));
}

}  // namespace mt::server
