#include "server/inference.h"

#include <cmath>
#include <filesystem>
#include <memory>
#include <new>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/io/safetensors.h"
#include "engine/models/models.h"
#include "engine/tasks/registry.h"
#include "engine/train/checkpoint.h"
#include "engine/train/datasets.h"
#include "engine/train/trainer.h"
#include "server/checkpoint_meta.h"
#include "server/inference_input.h"

namespace mt::server {
namespace {

struct LoadedModel {
  std::unique_ptr<models::Model> model;
  std::shared_ptr<data::Vocab> vocab;  // text tasks
  int64_t epoch = 0;
};

absl::StatusOr<io::TensorFile> ReadCheckpoint(const std::string& job_id,
                                              const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat("no checkpoint yet: job ", job_id, " has not finished an epoch"));
  }
  return io::ReadSafetensors(path);
}

absl::StatusOr<LoadedModel> LoadModel(const std::string& job_id,
                                      const train::TrainConfig& config,
                                      const std::string& path) {
  absl::StatusOr<io::TensorFile> file = ReadCheckpoint(job_id, path);
  if (!file.ok()) return file.status();
  LoadedModel m;
  absl::StatusOr<std::shared_ptr<data::Vocab>> vocab =
      InputVocabulary(config, file->metadata, path);
  if (!vocab.ok()) return vocab.status();
  m.vocab = *vocab;
  train::TaskData shell;  // BuildModel only needs the vocabulary from it
  shell.vocab = m.vocab;
  // The checkpoint's weights replace whatever the embeddings file would have provided.
  train::TrainConfig build = config;
  build.embeddings_path.clear();
  build.freeze_embeddings = false;
  absl::StatusOr<std::unique_ptr<models::Model>> model = train::BuildModel(build, shell);
  if (!model.ok()) return model.status();
  if (absl::Status s = train::LoadWeights(*file, model->get()); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(path, ": ", s.message()));
  }
  m.model = std::move(*model);
  m.model->Eval();
  m.epoch = EpochOf(file->metadata);
  return m;
}

// Log-probabilities and, when asked, every layer's output.
absl::StatusOr<Tensor> Forward(LoadedModel& m, const Tensor& input, models::Activations* acts) {
  try {
    NoGradGuard no_grad;
    return m.model->Forward(input, acts);
  } catch (const Error& e) {
    return absl::InvalidArgumentError(e.what());
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("out of memory while running the model");
  }
}

}  // namespace

absl::StatusOr<ActivationsResult> Inference::Activations(const std::string& job_id,
                                                         const train::TrainConfig& config,
                                                         const std::string& checkpoint,
                                                         const ModelInput& input) {
  absl::StatusOr<LoadedModel> m = LoadModel(job_id, config, checkpoint);
  if (!m.ok()) return m.status();
  absl::StatusOr<PreparedInput> in = PrepareInput(job_id, config, m->vocab.get(), *data_, input);
  if (!in.ok()) return in.status();
  models::Activations acts;
  absl::StatusOr<Tensor> out = Forward(*m, in->input, &acts);
  if (!out.ok()) return out.status();
  ActivationsResult r;
  r.label = in->label;
  for (auto& [name, t] : acts) {
    Activation a;
    a.layer = name;
    a.shape = t.shape();
    std::vector<double> v = t.ToVector();
    a.data.assign(v.begin(), v.end());
    r.layers.push_back(std::move(a));
  }
  return r;
}

absl::StatusOr<v1::PredictResponse> Inference::Predict(const std::string& job_id,
                                                       const train::TrainConfig& config,
                                                       const std::string& checkpoint,
                                                       const ModelInput& input) {
  absl::StatusOr<LoadedModel> m = LoadModel(job_id, config, checkpoint);
  if (!m.ok()) return m.status();
  absl::StatusOr<PreparedInput> in = PrepareInput(job_id, config, m->vocab.get(), *data_, input);
  if (!in.ok()) return in.status();
  absl::StatusOr<Tensor> log_probs = Forward(*m, in->input, nullptr);
  if (!log_probs.ok()) return log_probs.status();
  std::vector<double> lp = log_probs->ToVector();
  v1::PredictResponse r;
  int64_t best = 0;
  for (size_t i = 0; i < lp.size(); ++i) {
    r.add_probabilities(std::exp(lp[i]));
    if (lp[i] > lp[static_cast<size_t>(best)]) best = static_cast<int64_t>(i);
  }
  r.set_predicted_class(best);
  r.set_label(in->label);
  r.set_checkpoint_epoch(m->epoch);
  if (const tasks::Task* task = tasks::FindTask(config.task)) {
    for (const std::string& name : task->class_names()) r.add_class_names(name);
  }
  return r;
}

absl::StatusOr<std::string> Inference::Export(const std::string& job_id,
                                              const std::string& checkpoint) {
  absl::StatusOr<io::TensorFile> file = ReadCheckpoint(job_id, checkpoint);
  if (!file.ok()) return file.status();
  return io::EncodeSafetensors(train::ExportedModel(*file));
}

}  // namespace mt::server
