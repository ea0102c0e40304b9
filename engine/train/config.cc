#include "engine/train/config.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/tasks/registry.h"

namespace mt::train {

std::string WordVectorTasks() {
  std::vector<std::string> names;
  for (const tasks::Task* t : tasks::AllTasks()) {
    if (t->info().word_vectors) names.push_back(t->name());
  }
  return absl::StrCat("the ", tasks::JoinNames(names, "and"), " task", names.size() == 1 ? "" : "s");
}

TrainConfig DefaultConfig(const std::string& task, const std::string& model) {
  if (const tasks::Task* t = tasks::FindTask(task)) return t->Defaults(model);
  TrainConfig c;
  c.task = task;
  c.model = model;
  return c;
}

absl::Status Validate(const TrainConfig& c) {
  absl::StatusOr<const tasks::Task*> task = tasks::GetTask(c.task);
  if (!task.ok()) return task.status();
  if (!(*task)->HasModel(c.model)) {
    return InvalidField("model", c.model,
                        absl::StrCat("task ", c.task, " supports ",
                                     absl::StrJoin((*task)->models(), ", ")));
  }
  if (c.epochs < 1 || c.epochs > 10000) {
    return InvalidField("epochs", std::to_string(c.epochs), "must be in [1, 10000]");
  }
  if (c.batch_size < 1 || c.batch_size > 65536) {
    return InvalidField("batch_size", std::to_string(c.batch_size), "must be in [1, 65536]");
  }
  if (c.optimizer != "sgd" && c.optimizer != "adam") {
    return InvalidField("optimizer", c.optimizer, "must be sgd or adam");
  }
  if (!(c.lr > 0 && c.lr <= 10))
    return InvalidField("learning_rate", absl::StrCat(c.lr), "must be in (0, 10]");
  if (!(c.momentum >= 0 && c.momentum < 1)) {
    return InvalidField("momentum", absl::StrCat(c.momentum), "must be in [0, 1)");
  }
  if (!(c.weight_decay >= 0 && c.weight_decay < 1)) {
    return InvalidField("weight_decay", absl::StrCat(c.weight_decay), "must be in [0, 1)");
  }
  if (!(c.lr_decay > 0 && c.lr_decay <= 1)) {
    return InvalidField("lr_decay", absl::StrCat(c.lr_decay), "must be in (0, 1]");
  }
  if (c.train_size < 0)
    return InvalidField("train_size", std::to_string(c.train_size), "must be >= 0 (0 = all)");
  if (c.valid_size < 0)
    return InvalidField("valid_size", std::to_string(c.valid_size), "must be >= 0 (0 = all)");
  const tasks::TaskInfo& info = (*task)->info();
  if (info.max_train_size > 0 && c.train_size > info.max_train_size) {
    return InvalidField("train_size", std::to_string(c.train_size),
                        absl::StrCat("the ", c.task, " ", info.train_split, " split has at most ",
                                     info.max_train_size, " examples (0 = all)"));
  }
  if (info.max_valid_size > 0 && c.valid_size > info.max_valid_size) {
    return InvalidField("valid_size", std::to_string(c.valid_size),
                        absl::StrCat("the ", c.task, " ", info.valid_split, " split has at most ",
                                     info.max_valid_size, " examples (0 = all)"));
  }
  if (c.threads < 0 || c.threads > 1024) {
    return InvalidField("threads", std::to_string(c.threads),
                        "must be in [0, 1024] (0 = every core)");
  }
  if (c.embedding_dim < 1 || c.embedding_dim > 4096) {
    return InvalidField("embedding_dim", std::to_string(c.embedding_dim), "must be in [1, 4096]");
  }
  if (c.min_count < 1)
    return InvalidField("min_count", std::to_string(c.min_count), "must be >= 1");
  if (!(c.dropout >= 0 && c.dropout < 1)) {
    return InvalidField("dropout", absl::StrCat(c.dropout), "must be in [0, 1)");
  }
  if (!(*task)->info().word_vectors && !c.embeddings_path.empty()) {
    return InvalidField("embeddings", c.embeddings_path, absl::StrCat("word vectors apply to ", WordVectorTasks(), " only"));
  }
  if (c.freeze_embeddings && c.embeddings_path.empty()) {
    return InvalidField("freeze_embeddings", "true", "needs an embeddings file");
  }
  return absl::OkStatus();
}

std::string ToJson(const TrainConfig& c) {
  nlohmann::json j = {{"task", c.task},
                      {"model", c.model},
                      {"epochs", c.epochs},
                      {"batch_size", c.batch_size},
                      {"optimizer", c.optimizer},
                      {"lr", c.lr},
                      {"momentum", c.momentum},
                      {"weight_decay", c.weight_decay},
                      {"lr_decay", c.lr_decay},
                      {"train_size", c.train_size},
                      {"valid_size", c.valid_size},
                      {"seed", c.seed},
                      {"threads", c.threads}};
  const tasks::Task* task = tasks::FindTask(c.task);
  if (task && task->info().word_vectors) {
    j["embeddings"] = c.embeddings_path;
    j["embedding_dim"] = c.embedding_dim;
    j["freeze_embeddings"] = c.freeze_embeddings;
    j["min_count"] = c.min_count;
    j["dropout"] = c.dropout;
  }
  return j.dump();
}

}  // namespace mt::train
