#include "server/job_history.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/metric_series.h"
#include "common/png.h"

namespace mt::server {
namespace {

constexpr int kMaxPictures = 4;        // layers drawn per epoch
constexpr int kMinTilePixels = 56;     // small maps are enlarged to at least this
constexpr int kMaxPictureSide = 2048;  // larger pictures are not drawn
constexpr uint8_t kSeparator = 128;

}  // namespace

absl::StatusOr<ActivationPicture> DrawActivation(const Activation& layer) {
  const std::vector<int64_t>& s = layer.shape;
  int64_t channels, rows, cols;
  if (s.size() == 4 && s[0] == 1) {
    channels = s[1];
    rows = s[2];
    cols = s[3];
  } else if (s.size() == 3 && s[0] == 1) {  // 1-D feature maps: one row per channel
    channels = 1;
    rows = s[1];
    cols = s[2];
  } else {
    return absl::NotFoundError(absl::StrCat("layer ", layer.layer, " is not a feature map"));
  }
  if (channels < 1 || rows < 1 || cols < 1 ||
      static_cast<int64_t>(layer.data.size()) != channels * rows * cols) {
    return absl::InvalidArgumentError(absl::StrCat("layer ", layer.layer, " has ",
                                                   layer.data.size(), " values for its shape"));
  }
  // Enlarge each value to a block of `scale` x `scale` pixels until a map is readable.
  const int64_t scale = std::max<int64_t>(1, kMinTilePixels / std::max(rows, cols));
  const int64_t grid_cols = static_cast<int64_t>(std::ceil(std::sqrt(channels)));
  const int64_t grid_rows = (channels + grid_cols - 1) / grid_cols;
  const int64_t tile_w = cols * scale, tile_h = rows * scale;
  const int64_t width = grid_cols * tile_w + (grid_cols - 1);
  const int64_t height = grid_rows * tile_h + (grid_rows - 1);
  if (width > kMaxPictureSide || height > kMaxPictureSide) {
    return absl::NotFoundError(absl::StrCat("layer ", layer.layer, " is too large to draw"));
  }
  const auto [lo_it, hi_it] = std::minmax_element(layer.data.begin(), layer.data.end());
  const float lo = *lo_it, range = *hi_it - *lo_it;
  io::GrayImage img;
  img.width = width;
  img.height = height;
  img.pixels.assign(width * height, kSeparator);
  for (int64_t c = 0; c < channels; ++c) {
    const int64_t x0 = (c % grid_cols) * (tile_w + 1), y0 = (c / grid_cols) * (tile_h + 1);
    for (int64_t y = 0; y < tile_h; ++y) {
      for (int64_t x = 0; x < tile_w; ++x) {
        const float v = layer.data[(c * rows + y / scale) * cols + x / scale];
        const float t = range > 0 ? (v - lo) / range : 0.0f;
        img.pixels[(y0 + y) * width + x0 + x] = static_cast<uint8_t>(std::lround(255 * t));
      }
    }
  }
  absl::StatusOr<std::string> png = io::EncodeGrayPng(img);
  if (!png.ok()) return png.status();
  return ActivationPicture{std::move(*png), static_cast<int>(width), static_cast<int>(height)};
}

std::string JobHistory::TensorBoardDir(const std::string& job_id) const {
  return absl::StrCat(jobs_dir_, "/", job_id, "/tensorboard");
}

std::shared_ptr<JobHistory::Run> JobHistory::RunOf(const std::string& job_id) {
  std::lock_guard<std::mutex> lock(mu_);
  std::shared_ptr<Run>& run = runs_[job_id];
  if (!run) run = std::make_shared<Run>();
  return run;
}

void JobHistory::Report(const std::string& job_id, Run& run, const absl::Status& s) {
  if (s.ok() || run.tb_failed) return;
  run.tb_failed = true;
  run.tb.reset();
  std::fprintf(stderr, "mt: job %s: no TensorBoard files for the rest of this run: %s\n",
               job_id.c_str(), std::string(s.message()).c_str());
}

TensorBoardWriter* JobHistory::Writer(const std::string& job_id, Run& run) {
  if (jobs_dir_.empty() || run.tb_failed) return nullptr;
  if (!run.tb) {
    absl::StatusOr<std::unique_ptr<TensorBoardWriter>> w =
        TensorBoardWriter::Create(TensorBoardDir(job_id));
    if (!w.ok()) {
      Report(job_id, run, w.status());
      return nullptr;
    }
    run.tb = std::move(*w);
  }
  return run.tb.get();
}

std::optional<v1::JobEvent> JobHistory::OnProgress(const std::string& job_id,
                                                   const v1::BatchProgress& p) {
  std::shared_ptr<Run> run = RunOf(job_id);
  std::lock_guard<std::mutex> lock(run->tb_mu);
  run->num_batches = p.num_batches();
  std::optional<v1::ScalarPoint> point = run->loss.Add(p);
  if (!point) return std::nullopt;
  if (TensorBoardWriter* tb = Writer(job_id, *run)) {
    Report(job_id, *run, tb->AddScalar(point->tag(), point->step(), point->value()));
  }
  v1::JobEvent event;
  *event.mutable_scalars()->add_points() = std::move(*point);
  return event;
}

void JobHistory::OnEpoch(const std::string& job_id, const v1::EpochMetrics& m,
                         const std::function<absl::StatusOr<ActivationsResult>()>& activations) {
  std::shared_ptr<Run> run = RunOf(job_id);
  std::lock_guard<std::mutex> lock(run->tb_mu);
  TensorBoardWriter* tb = Writer(job_id, *run);
  if (!tb) return;
  // The epoch's end on the batch axis (the loss points' step).
  const int64_t step = m.step() > 0 ? m.step() : m.epoch() * run->num_batches;
  for (const v1::ScalarPoint& p : EpochScalarPoints(m)) {
    absl::Status s = tb->AddScalar(p.tag(), step, p.value());
    Report(job_id, *run, s);
    if (!s.ok()) return;
  }
  if (!activations) return;
  absl::StatusOr<ActivationsResult> acts = activations();
  if (!acts.ok()) return;  // e.g. the checkpoint went away; the scalars are written
  int drawn = 0;
  for (const Activation& layer : acts->layers) {
    if (drawn == kMaxPictures) break;
    absl::StatusOr<ActivationPicture> pic = DrawActivation(layer);
    if (!pic.ok()) continue;
    ++drawn;
    absl::Status s = tb->AddImage(absl::StrCat("activations/", layer.layer), step, pic->png,
                                  pic->width, pic->height, 1);
    Report(job_id, *run, s);
    if (!s.ok()) return;
  }
}

void JobHistory::EndRun(const std::string& job_id) {
  std::shared_ptr<Run> run;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = runs_.find(job_id);
    if (it == runs_.end()) return;
    run = std::move(it->second);
    runs_.erase(it);
  }
  std::lock_guard<std::mutex> lock(run->tb_mu);
  run->tb.reset();  // closes the file
}

}  // namespace mt::server
