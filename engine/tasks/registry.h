// The task registry: everything that makes "mnist" or "sst2" what it is, in one entry per task
// (engine/tasks/<task>.cc): its name and description, models (the first is the default), training
// defaults, dataset loading, model construction, how a serving request (a held-out example, an
// image, a sentence) becomes model input, and the names of its classes.
//
// Config validation, mt-train, the trainer and the daemon ask the registry instead of comparing
// task names, so adding a task is one file here plus its line in BUILD: the file defines a
// subclass of Task and registers it with MT_REGISTER_TASK.
#ifndef MT_ENGINE_TASKS_REGISTRY_H_
#define MT_ENGINE_TASKS_REGISTRY_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/data/sst2.h"
#include "engine/models/models.h"
#include "engine/tensor.h"
#include "engine/train/dataset.h"
#include "engine/train/train_config.h"

namespace mt::tasks {

// One example made ready for a model: a batch of one.
struct Example {
  Tensor input;        // (1, ...) as the task's models take it
  int64_t label = -1;  // the true class when known (held-out examples), else -1
};

// What preparing a serving input may need besides the input itself.
struct InputContext {
  // Names the model's owner in error messages, e.g. "job 3f2a".
  std::string who;
  // The model's training config (data_dir set to where the data is).
  train::TrainConfig config;
  // Tasks with a vocabulary: the one the model was trained with (the checkpoint's).
  std::shared_ptr<const data::Vocab> vocab;
  // Loads (or returns a cached copy of) the task's data for `config`; tasks whose held-out
  // examples come from the loaded data call it. Unset = load with Task::Load each time.
  std::function<absl::StatusOr<std::shared_ptr<const train::TaskData>>()> data;
};

// What a task's entry says about it (fixed at registration).
struct TaskInfo {
  std::string name;                      // "mnist"
  std::string description;               // one line, for help texts
  std::vector<std::string> models;       // models[0] is the default
  std::vector<std::string> class_names;  // index = class id
  std::string train_split, valid_split;  // split names as reported, e.g. "train", "test"
  // The published splits' sizes (0 = unknown): train_size / valid_size above them are refused
  // by train::Validate, i.e. when a job is submitted rather than when it starts. A smaller local
  // copy of the data is still checked when it is loaded.
  int64_t max_train_size = 0, max_valid_size = 0;
  // Takes word vectors (embeddings_path / embedding_dim / freeze_embeddings) and builds a
  // vocabulary saved with each checkpoint (mt.vocab).
  bool word_vectors = false;
  // > 0: accepts images of this size (8-bit grayscale, white ink on black).
  int64_t image_height = 0, image_width = 0;
  bool accepts_text = false;
  // What to send this task, for messages: "use --image or --index".
  std::string input_hint;
  // Appended to image decoding errors: " (mnist models take 28x28 images, white ink on black)".
  std::string image_hint;
};

class Task {
 public:
  explicit Task(TaskInfo info) : info_(std::move(info)) {}
  virtual ~Task() = default;

  const TaskInfo& info() const { return info_; }
  const std::string& name() const { return info_.name; }
  const std::string& default_model() const { return info_.models.front(); }
  const std::vector<std::string>& models() const { return info_.models; }
  const std::vector<std::string>& class_names() const { return info_.class_names; }
  bool HasModel(const std::string& model) const;
  bool accepts_images() const { return info_.image_height > 0; }

  // Defaults that suit `model` (any name: an unknown one gets the task's general defaults,
  // and Validate names it). task and model are set.
  virtual train::TrainConfig Defaults(const std::string& model) const = 0;

  // Loads the splits from config.data_dir, honouring train_size / valid_size. `config` has been
  // validated.
  virtual absl::StatusOr<train::TaskData> Load(const train::TrainConfig& config) const = 0;

  // A fresh model for a validated config (seeded by config.seed), its parameters flattened.
  // `data` supplies what the model's shape depends on (sst2: the vocabulary; pretrained vectors).
  virtual absl::StatusOr<std::unique_ptr<models::Model>> BuildModel(
      const train::TrainConfig& config, const train::TaskData& data) const = 0;

  // What of `config` the loaded data depends on, as a key for caching loaded data: two configs
  // with the same key load the same TaskData. The base covers task, data_dir, train_size and
  // valid_size; tasks whose loading reads more fields add them.
  virtual std::string DataKey(const train::TrainConfig& config) const;

  // Serving inputs. Each returns a batch of one, or an error naming what was wrong.
  // Held-out example `index` (0-based) of the split the model was validated on.
  virtual absl::StatusOr<Example> ValidExample(const InputContext& context,
                                               int64_t index) const = 0;
  // Decoded 8-bit grayscale pixels (height, width) row-major, 0 = background.
  virtual absl::StatusOr<Example> ImageExample(const InputContext& context, int64_t height,
                                               int64_t width,
                                               const std::vector<uint8_t>& pixels) const;
  virtual absl::StatusOr<Example> TextExample(const InputContext& context,
                                              const std::string& text) const;

 protected:
  // The data for a held-out example: context.data() if set, else Load(context.config).
  absl::StatusOr<std::shared_ptr<const train::TaskData>> DataFor(
      const InputContext& context) const;

 private:
  TaskInfo info_;
};

// The task called `name`, or nullptr.
const Task* FindTask(const std::string& name);
// The task called `name`, or InvalidArgument "invalid task 'x': must be mnist or sst2".
absl::StatusOr<const Task*> GetTask(const std::string& name);
// Every registered task, sorted by name.
std::vector<const Task*> AllTasks();
std::vector<std::string> TaskNames();
// Names joined for messages: "mnist or sst2" ("a, b or c"; "a and b" with conjunction "and").
std::string JoinNames(const std::vector<std::string>& names, const std::string& conjunction = "or");

// For Task::Load: InvalidArgument when `want` (train_size / valid_size; 0 = all) exceeds the
// `have` examples of the split described by `split` (e.g. "MNIST training").
absl::Status CheckSplitSize(const char* field, int64_t want, int64_t have,
                            const std::string& split);

// Adds a task; the registry owns it. Registering a name twice aborts (a programming error).
void RegisterTask(std::unique_ptr<Task> task);

// In a task's .cc file: MT_REGISTER_TASK(MnistTask); registers one instance at start-up. The
// BUILD target sets alwayslink so the linker keeps files nobody references by symbol.
#define MT_REGISTER_TASK(TaskClass)                                                  \
  namespace {                                                                       \
  const bool registered_##TaskClass = [] {                                          \
    ::mt::tasks::RegisterTask(std::make_unique<TaskClass>());                       \
    return true;                                                                    \
  }();                                                                              \
  }

}  // namespace mt::tasks

#endif  // MT_ENGINE_TASKS_REGISTRY_H_
