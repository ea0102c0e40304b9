#include "client/progress_line.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/text.h"

namespace mt::client {
namespace {

// The bar stops growing here: a longer one says nothing more and pushes the numbers away.
constexpr int kMaxBarCells = 50;
// Narrower than this, a bar is noise: the percentage says the same.
constexpr int kMinBarCells = 5;

struct Field {
  std::string text;
  int drop_rank;  // dropped in increasing order when the line is too long; 0 = kept
};

}  // namespace

ProgressView ViewOf(const v1::BatchProgress& p) {
  ProgressView v;
  v.epoch = p.epoch();
  v.epochs = p.epochs();
  v.batch = p.batch();
  v.num_batches = p.num_batches();
  v.loss = p.mean_loss();
  v.samples_per_second = p.samples_per_second();
  v.eta_seconds = p.samples_per_second() > 0 ? p.eta_seconds() : -1;
  return v;
}

std::string FormatRate(double r) {
  if (!std::isfinite(r) || r < 0) r = 0;
  if (r < 1000) return absl::StrFormat("%.0f/s", r);
  if (r < 9950) return absl::StrFormat("%.1fk/s", r / 1e3);
  if (r < 999500) return absl::StrFormat("%.0fk/s", r / 1e3);
  return absl::StrFormat("%.1fM/s", r / 1e6);
}

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) seconds = 0;
  // Days bound it: an estimate of years is as good as none, and int64 must not overflow.
  const int64_t s = static_cast<int64_t>(std::llround(std::min(seconds, 1e9)));
  if (s < 60) return absl::StrCat(s, "s");
  if (s < 3600) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  if (s < 86400) return absl::StrFormat("%dh%02dm", s / 3600, s % 3600 / 60);
  return absl::StrFormat("%dd%02dh", s / 86400, s % 86400 / 3600);
}

std::string ProgressLine(const ProgressView& v, int width) {
  // The last column stays empty (see the header).
  const int avail = std::max(width - 1, 0);
  double fraction =
      v.num_batches > 0 ? static_cast<double>(v.batch) / static_cast<double>(v.num_batches) : 0;
  fraction = std::clamp(std::isfinite(fraction) ? fraction : 0.0, 0.0, 1.0);
  const bool validating = v.num_batches > 0 && v.batch >= v.num_batches;

  const std::string head =
      v.epochs > 0 ? absl::StrCat(v.epoch, "/", v.epochs) : absl::StrCat(v.epoch);
  std::vector<Field> fields;
  fields.push_back({absl::StrCat("epoch ", head), 0});
  if (validating) {
    fields.push_back({"validating\u2026", 0});
  } else {
    // Floor, so that 100% means the epoch's training is done.
    fields.push_back({absl::StrCat(static_cast<int>(fraction * 100), "%"), 0});
    if (v.num_batches > 0) {
      fields.push_back(
          {absl::StrCat(std::min(std::max<int64_t>(v.batch, 0), v.num_batches), "/", v.num_batches),
           1});
    }
  }
  fields.push_back({absl::StrFormat("loss %.3f", v.loss), 3});
  if (v.samples_per_second > 0 && !validating) {
    fields.push_back({FormatRate(v.samples_per_second), 2});
  }
  if (v.eta_seconds >= 0) {
    fields.push_back({absl::StrCat("ETA ", FormatDuration(v.eta_seconds)), 4});
  }

  auto joined = [&fields] {
    std::vector<std::string> parts;
    for (const Field& f : fields) parts.push_back(f.text);
    return absl::StrJoin(parts, " ");
  };
  auto bar = [&](int cells) {
    const int filled = static_cast<int>(fraction * cells);
    return absl::StrCat("[", std::string(filled, '#'), std::string(cells - filled, '-'), "]");
  };

  // With the bar, between the first field and the rest: "epoch 2/5 [###---] 47% ...".
  const int text = static_cast<int>(DisplayWidth(joined()));
  const int cells = std::min(kMaxBarCells, avail - text - 3);
  if (cells >= kMinBarCells) {
    std::string rest;
    for (size_t i = 1; i < fields.size(); ++i) absl::StrAppend(&rest, " ", fields[i].text);
    return absl::StrCat(fields[0].text, " ", bar(cells), rest);
  }
  // Without it, dropping fields until the line fits.
  for (int rank = 1; rank <= 4; ++rank) {
    if (static_cast<int>(DisplayWidth(joined())) <= avail) break;
    fields.erase(std::remove_if(fields.begin(), fields.end(),
                                [rank](const Field& f) { return f.drop_rank == rank; }),
                 fields.end());
  }
  if (static_cast<int>(DisplayWidth(joined())) > avail) fields[0].text = head;
  return Truncate(joined(), static_cast<size_t>(avail));
}

}  // namespace mt::client
