#include "engine/tasks/registry.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <map>

#include "absl/strings/str_cat.h"

namespace mt::tasks {
namespace {

// Function-local so that registration from other files' static initialisers finds it built.
std::map<std::string, std::unique_ptr<Task>>& Registry() {
  static auto* registry = new std::map<std::string, std::unique_ptr<Task>>();
  return *registry;
}

std::vector<std::string> NamesWhere(const std::function<bool(const Task&)>& pred) {
  std::vector<std::string> out;
  for (const Task* t : AllTasks()) {
    if (pred(*t)) out.push_back(t->name());
  }
  return out;
}

}  // namespace

bool Task::HasModel(const std::string& model) const {
  return std::find(info_.models.begin(), info_.models.end(), model) != info_.models.end();
}

std::string Task::DataKey(const train::TrainConfig& c) const {
  return absl::StrCat(c.task, "|", c.data_dir, "|", c.train_size, "|", c.valid_size);
}

absl::StatusOr<Example> Task::ImageExample(const InputContext& context, int64_t, int64_t,
                                           const std::vector<uint8_t>&) const {
  return absl::InvalidArgumentError(absl::StrCat(
      "--image input is for ",
      JoinNames(NamesWhere([](const Task& t) { return t.accepts_images(); })), " jobs; ",
      context.who, " is ", name(), " (", info_.input_hint, ")"));
}

absl::StatusOr<Example> Task::TextExample(const InputContext& context,
                                          const std::string&) const {
  return absl::InvalidArgumentError(absl::StrCat(
      "--text input is for ",
      JoinNames(NamesWhere([](const Task& t) { return t.info().accepts_text; })), " jobs; ",
      context.who, " is ", name(), " (", info_.input_hint, ")"));
}

absl::StatusOr<std::shared_ptr<const train::TaskData>> Task::DataFor(
    const InputContext& context) const {
  if (context.data) return context.data();
  absl::StatusOr<train::TaskData> loaded = Load(context.config);
  if (!loaded.ok()) return loaded.status();
  return std::shared_ptr<const train::TaskData>(
      std::make_shared<train::TaskData>(std::move(*loaded)));
}

const Task* FindTask(const std::string& name) {
  auto it = Registry().find(name);
  return it == Registry().end() ? nullptr : it->second.get();
}

absl::StatusOr<const Task*> GetTask(const std::string& name) {
  if (const Task* t = FindTask(name)) return t;
  return train::InvalidField("task", name, absl::StrCat("must be ", JoinNames(TaskNames())));
}

std::vector<const Task*> AllTasks() {
  std::vector<const Task*> out;
  for (const auto& [name, task] : Registry()) out.push_back(task.get());  // map: sorted by name
  return out;
}

std::vector<std::string> TaskNames() {
  std::vector<std::string> out;
  for (const auto& [name, task] : Registry()) out.push_back(name);
  return out;
}

std::string JoinNames(const std::vector<std::string>& names, const std::string& conjunction) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) absl::StrAppend(&out, i + 1 == names.size() ? " " + conjunction + " " : ", ");
    absl::StrAppend(&out, names[i]);
  }
  return out;
}

absl::Status CheckSplitSize(const char* field, int64_t want, int64_t have,
                            const std::string& split) {
  if (want > have) {
    return absl::InvalidArgumentError(absl::StrCat("invalid ", field, " '", want, "': the ", split,
                                                   " split has only ", have,
                                                   " examples (0 = all)"));
  }
  return absl::OkStatus();
}

void RegisterTask(std::unique_ptr<Task> task) {
  const std::string name = task->name();
  if (name.empty() || task->models().empty() || task->class_names().empty() ||
      !Registry().emplace(name, std::move(task)).second) {
    // Runs during static initialisation, before any Status could reach a caller.
    std::cerr << "mt: task '" << name
              << "' is registered twice or lacks a name, models or class names\n";
    std::abort();
  }
}

}  // namespace mt::tasks
