#include "server/inference_input.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/png.h"
#include "engine/data/mnist.h"
#include "engine/train/datasets.h"
#include "server/checkpoint_meta.h"

namespace mt::server {

absl::StatusOr<std::shared_ptr<data::Vocab>> InputVocabulary(
    const train::TrainConfig& config, const std::map<std::string, std::string>& metadata,
    const std::string& path) {
  if (config.task != "sst2") return std::shared_ptr<data::Vocab>();
  return VocabFromMetadata(metadata, path);
}

absl::StatusOr<PreparedInput> PrepareInput(const std::string& job_id,
                                           const train::TrainConfig& config,
                                           const data::Vocab* vocab, DataCache& data,
                                           const ModelInput& in) {
  const std::string& task = config.task;
  PreparedInput out;
  switch (in.kind) {
    case ModelInput::Kind::kValidIndex: {
      if (task == "mnist") {
        absl::StatusOr<std::shared_ptr<const train::TaskData>> d = data.Get(config);
        if (!d.ok()) return d.status();
        const train::Dataset& valid = *(*d)->valid;
        if (in.valid_index < 0 || in.valid_index >= valid.size()) {
          return absl::OutOfRangeError(absl::StrCat(
              "valid_index ", in.valid_index, " is out of range: job ", job_id,
              "'s held-out split (MNIST test) has ", valid.size(), " examples (0..",
              valid.size() - 1, ")"));
        }
        train::Batch b = valid.Get(&in.valid_index, 1);
        out.input = b.input;
        out.label = b.target.ToInt64Vector()[0];
        return out;
      }
      // SST-2: only the dev split is needed; the vocabulary is the checkpoint's.
      absl::StatusOr<std::vector<data::SentenceExample>> dev =
          data::LoadSst2(config.data_dir, data::Sst2Split::kDev);
      if (!dev.ok()) return dev.status();
      int64_t n = static_cast<int64_t>(dev->size());
      if (config.valid_size > 0) n = std::min(n, config.valid_size);
      if (in.valid_index < 0 || in.valid_index >= n) {
        return absl::OutOfRangeError(absl::StrCat(
            "valid_index ", in.valid_index, " is out of range: job ", job_id,
            "'s held-out split (SST-2 dev) has ", n, " examples (0..", n - 1, ")"));
      }
      std::vector<data::EncodedExample> ex =
          data::EncodeExamples(*vocab, {(*dev)[static_cast<size_t>(in.valid_index)]});
      const int64_t zero = 0;
      data::TokenBatch tb = data::MakeTokenBatch(ex, &zero, 1, train::kSst2MinLength);
      out.input = Tensor::FromInt64(tb.ids, {tb.batch_size, tb.max_len});
      out.label = tb.labels[0];
      return out;
    }
    case ModelInput::Kind::kImagePng: {
      if (task != "mnist") {
        return absl::InvalidArgumentError(absl::StrCat("image_png input is for mnist jobs; job ",
                                                       job_id, " is ", task, " (send text)"));
      }
      absl::StatusOr<io::GrayImage> img = io::DecodePngToGray(in.image_png, 28, 28);
      if (!img.ok()) {
        return absl::Status(img.status().code(),
                            absl::StrCat(img.status().message(),
                                         " (mnist models take 28x28 images, white ink on black)"));
      }
      data::MnistSplit one;
      one.count = 1;
      one.rows = one.cols = 28;
      one.pixels = std::move(img->pixels);
      one.labels = {0};
      const int64_t zero = 0;
      out.input = Tensor::Empty({1, 1, 28, 28});
      data::NormalizeImages(one, &zero, 1, out.input.data<float>());
      return out;
    }
    case ModelInput::Kind::kText: {
      if (task != "sst2") {
        return absl::InvalidArgumentError(absl::StrCat("text input is for sst2 jobs; job ",
                                                       job_id, " is ", task,
                                                       " (send image_png or valid_index)"));
      }
      std::vector<int64_t> ids = vocab->Encode(in.text);
      if (ids.empty()) return absl::InvalidArgumentError("text has no words");
      std::vector<data::EncodedExample> ex(1);
      ex[0].ids = std::move(ids);
      const int64_t zero = 0;
      data::TokenBatch tb = data::MakeTokenBatch(ex, &zero, 1, train::kSst2MinLength);
      out.input = Tensor::FromInt64(tb.ids, {tb.batch_size, tb.max_len});
      return out;
    }
  }
  return absl::InvalidArgumentError("unknown input kind");
}

}  // namespace mt::server
