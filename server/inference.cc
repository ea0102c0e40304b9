#include "server/inference.h"

#include <cmath>
#include <filesystem>
#include <memory>
#include <new>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/allocator.h"
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
  } catch (const OutOfMemory& e) {
    return absl::ResourceExhaustedError(absl::StrCat(e.what(), " while running the model"));
  } catch (const Error& e) {
    return absl::InvalidArgumentError(e.what());
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("out of memory while running the model");
  }
}

// Above this estimate, the memory a request used is handed back to the system afterwards
// instead of staying in the allocator's cache (which only fills up to its own bound anyway).
constexpr int64_t kReleaseAfterBytes = int64_t{64} << 20;

// ResourceExhausted when the model's estimate for this input, times `copies` (activations are
// kept and copied out, not just passed through), exceeds the budget.
absl::Status CheckMemoryBudget(const std::string& job_id, const models::Model& model,
                               const Tensor& input, int copies, const InferenceLimits& limits,
                               int64_t* estimate) {
  const double bytes = static_cast<double>(model.EstimateForwardBytes(input.shape())) * copies;
  *estimate = static_cast<int64_t>(std::min(bytes, 9.0e18));
  if (limits.memory_bytes <= 0 || bytes <= static_cast<double>(limits.memory_bytes)) {
    return absl::OkStatus();
  }
  return absl::ResourceExhaustedError(absl::StrCat(
      "this input (shape ", ShapeToString(input.shape()), ") would need about ",
      static_cast<int64_t>(bytes / (1 << 20)), " MiB to run job ", job_id,
      "'s model; the daemon allows ", limits.memory_bytes / (1 << 20),
      " MiB per inference (--inference_memory_mb); send a shorter input"));
}

// Gives the memory of a large request back to the system once its tensors are gone.
struct ReleaseIfLarge {
  int64_t estimate = 0;
  ~ReleaseIfLarge() {
    if (estimate > kReleaseAfterBytes) EmptyCache();
  }
};

// What one forward pass from a checkpoint leaves for the response; the model itself is dropped.
struct ForwardRun {
  Tensor out;          // log-probabilities
  int64_t label = -1;  // PreparedInput::label
  int64_t epoch = 0;   // the checkpoint's
  InputEcho input;     // what the model was given, for the client to show
};

// The prepared input without its batch dimension; token ids also as their words.
InputEcho EchoOf(const Tensor& input, const data::Vocab* vocab) {
  InputEcho e;
  e.shape = input.shape();
  if (!e.shape.empty() && e.shape[0] == 1) e.shape.erase(e.shape.begin());
  const std::vector<double> v = input.ToVector();
  e.values.assign(v.begin(), v.end());
  if (vocab != nullptr) {
    for (double id : v) {
      const int64_t i = static_cast<int64_t>(id);
      e.tokens.push_back(i >= 0 && i < vocab->size() ? vocab->Token(i)
                                                     : std::string(data::Vocab::kUnkToken));
    }
  }
  return e;
}

// The sequence both Activations and Predict share: load the checkpoint, prepare the input,
// check the memory budget (`copies` as in CheckMemoryBudget) and run the model. `release` and
// `acts` belong to the caller so that they outlive the returned tensors.
absl::StatusOr<ForwardRun> LoadAndForward(const std::string& job_id,
                                          const train::TrainConfig& config,
                                          const std::string& checkpoint, const ModelInput& input,
                                          DataCache& data, const InferenceLimits& limits,
                                          int copies, ReleaseIfLarge* release,
                                          models::Activations* acts) {
  absl::StatusOr<LoadedModel> m = LoadModel(job_id, config, checkpoint);
  if (!m.ok()) return m.status();
  absl::StatusOr<PreparedInput> in =
      PrepareInput(job_id, config, m->vocab.get(), data, input, limits);
  if (!in.ok()) return in.status();
  if (absl::Status s =
          CheckMemoryBudget(job_id, *m->model, in->input, copies, limits, &release->estimate);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<Tensor> out = Forward(*m, in->input, acts);
  if (!out.ok()) return out.status();
  return ForwardRun{*std::move(out), in->label, m->epoch, EchoOf(in->input, m->vocab.get())};
}

}  // namespace

template <typename T>
absl::StatusOr<T> Inference::Guarded(const std::function<absl::StatusOr<T>()>& body) {
  try {
    return body();
  } catch (const OutOfMemory& e) {
    EmptyCache();
    return absl::ResourceExhaustedError(absl::StrCat(e.what(), " while answering the request"));
  } catch (const std::bad_alloc&) {
    EmptyCache();
    return absl::ResourceExhaustedError("out of memory while answering the request");
  } catch (const Error& e) {
    return absl::InvalidArgumentError(e.what());
  }
}

absl::StatusOr<ActivationsResult> Inference::Activations(const std::string& job_id,
                                                         const train::TrainConfig& config,
                                                         const std::string& checkpoint,
                                                         const ModelInput& input) {
  return Guarded<ActivationsResult>(
      [&] { return ActivationsImpl(job_id, config, checkpoint, input); });
}

absl::StatusOr<v1::PredictResponse> Inference::Predict(const std::string& job_id,
                                                       const train::TrainConfig& config,
                                                       const std::string& checkpoint,
                                                       const ModelInput& input) {
  return Guarded<v1::PredictResponse>(
      [&] { return PredictImpl(job_id, config, checkpoint, input); });
}

absl::StatusOr<ActivationsResult> Inference::ActivationsImpl(const std::string& job_id,
                                                             const train::TrainConfig& config,
                                                             const std::string& checkpoint,
                                                             const ModelInput& input) {
  ReleaseIfLarge release;
  models::Activations acts;
  // Layer outputs are kept, then copied out as doubles and again into the response.
  absl::StatusOr<ForwardRun> run =
      LoadAndForward(job_id, config, checkpoint, input, *data_, limits_, 4, &release, &acts);
  if (!run.ok()) return run.status();
  ActivationsResult r;
  r.label = run->label;
  r.input = std::move(run->input);
  r.checkpoint_epoch = run->epoch;
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

absl::StatusOr<v1::PredictResponse> Inference::PredictImpl(const std::string& job_id,
                                                           const train::TrainConfig& config,
                                                           const std::string& checkpoint,
                                                           const ModelInput& input) {
  ReleaseIfLarge release;
  absl::StatusOr<ForwardRun> run = LoadAndForward(job_id, config, checkpoint, input, *data_,
                                                  limits_, 1, &release, nullptr);
  if (!run.ok()) return run.status();
  std::vector<double> lp = run->out.ToVector();
  v1::PredictResponse r;
  int64_t best = 0;
  for (size_t i = 0; i < lp.size(); ++i) {
    r.add_probabilities(std::exp(lp[i]));
    if (lp[i] > lp[static_cast<size_t>(best)]) best = static_cast<int64_t>(i);
  }
  r.set_predicted_class(best);
  r.set_label(run->label);
  r.set_checkpoint_epoch(run->epoch);
  r.mutable_input_shape()->Add(run->input.shape.begin(), run->input.shape.end());
  r.mutable_input_values()->Add(run->input.values.begin(), run->input.values.end());
  for (const std::string& t : run->input.tokens) r.add_input_tokens(t);
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
