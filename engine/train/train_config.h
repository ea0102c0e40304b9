// The fields that define a training run, as plain data. Which values are allowed and what the
// defaults are is the task registry's business (config.h: DefaultConfig, Validate); keeping the
// struct apart lets the tasks themselves (engine/tasks) build and check configs.
#ifndef MT_ENGINE_TRAIN_TRAIN_CONFIG_H_
#define MT_ENGINE_TRAIN_TRAIN_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace mt::train {

struct TrainConfig {
  std::string task = "mnist";    // a registered task (engine/tasks): mnist | sst2
  std::string model = "lenet5";  // one of the task's models
  int64_t epochs = 10;
  int64_t batch_size = 64;
  std::string optimizer = "sgd";  // sgd | adam
  double lr = 0.05;
  double momentum = 0.9;         // sgd only
  double weight_decay = 0.0;
  double lr_decay = 1.0;         // lr is multiplied by this after every epoch
  int64_t train_size = 0;        // 0 = the full training split, else its first N examples
  int64_t valid_size = 0;        // 0 = the full held-out split (MNIST test, SST-2 dev)
  uint64_t seed = 1;
  int threads = 0;               // 0 = every core
  std::string data_dir;          // holds mnist/ and sst2/ (scripts/fetch_data.sh)
  // Tasks with word vectors (sst2) only.
  std::string embeddings_path;   // GloVe text file; empty = learn embeddings from scratch
  int64_t embedding_dim = 128;   // must match the file when embeddings_path is set
  bool freeze_embeddings = false;
  int64_t min_count = 1;         // vocabulary: keep tokens seen at least this often
  double dropout = 0.5;          // kim_cnn
};

// The error Validate() and the daemon's spec checks give: "invalid <field> '<value>': <allowed>".
absl::Status InvalidField(const std::string& field, const std::string& value,
                          const std::string& allowed);

}  // namespace mt::train

#endif  // MT_ENGINE_TRAIN_TRAIN_CONFIG_H_
