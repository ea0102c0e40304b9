#include "server/inference_input.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/png.h"
#include "engine/tasks/registry.h"
#include "server/checkpoint_meta.h"

namespace mt::server {

absl::StatusOr<std::shared_ptr<data::Vocab>> InputVocabulary(
    const train::TrainConfig& config, const std::map<std::string, std::string>& metadata,
    const std::string& path) {
  absl::StatusOr<const tasks::Task*> task = tasks::GetTask(config.task);
  if (!task.ok()) return task.status();
  // Tasks that learn word vectors encode their inputs with the vocabulary saved beside them.
  if (!(*task)->info().word_vectors) return std::shared_ptr<data::Vocab>();
  return VocabFromMetadata(metadata, path);
}

absl::StatusOr<PreparedInput> PrepareInput(const std::string& job_id,
                                           const train::TrainConfig& config,
                                           const data::Vocab* vocab, DataCache& data,
                                           const ModelInput& in, const InferenceLimits& limits) {
  absl::StatusOr<const tasks::Task*> found = tasks::GetTask(config.task);
  if (!found.ok()) return found.status();
  const tasks::Task& task = **found;
  tasks::InputContext context;
  context.who = absl::StrCat("job ", job_id);
  context.config = config;
  // Not owned: the caller's vocabulary outlives this call.
  if (vocab) context.vocab = std::shared_ptr<const data::Vocab>(vocab, [](const data::Vocab*) {});
  context.data = [&data, &config] { return data.Get(config); };
  absl::StatusOr<tasks::Example> example = absl::InvalidArgumentError("unknown input kind");
  switch (in.kind) {
    case ModelInput::Kind::kValidIndex:
      example = task.ValidExample(context, in.valid_index);
      break;
    case ModelInput::Kind::kImagePng: {
      // A task without images says so (and what to send) before any decoding.
      if (!task.accepts_images()) {
        example = task.ImageExample(context, 0, 0, {});
        break;
      }
      if (static_cast<int64_t>(in.image_png.size()) > limits.max_png_bytes) {
        return absl::InvalidArgumentError(
            absl::StrCat("--image is ", in.image_png.size(), " bytes; at most ",
                         limits.max_png_bytes, " are accepted", task.info().image_hint));
      }
      absl::StatusOr<io::GrayImage> img =
          io::DecodePngToGray(in.image_png, task.info().image_width, task.info().image_height);
      if (!img.ok()) {
        return absl::Status(img.status().code(),
                            absl::StrCat(img.status().message(), task.info().image_hint));
      }
      example = task.ImageExample(context, img->height, img->width, img->pixels);
      break;
    }
    case ModelInput::Kind::kText:
      if (static_cast<int64_t>(in.text.size()) > limits.max_text_bytes) {
        return absl::InvalidArgumentError(
            absl::StrCat("text is ", in.text.size(), " bytes; at most ", limits.max_text_bytes,
                         " are accepted (send one sentence)"));
      }
      example = task.TextExample(context, in.text);
      // Token ids (1, L): the length is checked before the model sees them.
      if (example.ok() && example->input.dim() == 2 &&
          example->input.size(1) > limits.max_text_tokens) {
        return absl::InvalidArgumentError(
            absl::StrCat("text has ", example->input.size(1), " tokens; at most ",
                         limits.max_text_tokens, " are accepted (send one sentence)"));
      }
      break;
  }
  if (!example.ok()) return example.status();
  PreparedInput out;
  out.input = example->input;
  out.label = example->label;
  return out;
}

}  // namespace mt::server
