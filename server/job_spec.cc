#include "server/job_spec.h"

#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/cuda/runtime.h"
#include "engine/tasks/registry.h"
#include "server/request_limits.h"

namespace mt::server {

absl::StatusOr<std::string> ConfinedFile(const std::string& field, const std::string& requested,
                                         const std::string& dir) {
  namespace fs = std::filesystem;
  if (dir.empty()) {
    return train::InvalidField(field, requested,
                               "this daemon accepts no such files (it has no directory for them)");
  }
  std::error_code ec;
  // canonical() resolves every symlink and "..": what is checked is where the bytes really are.
  const fs::path root = fs::canonical(dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the daemon's directory for ", field, " (", dir, ") is unusable: ", ec.message()));
  }
  fs::path p(requested);
  if (p.is_relative()) p = root / p;
  const std::string outside = absl::StrCat(
      "must name a regular file inside ", root.string(),
      " (the daemon's --embeddings_dir; relative paths are taken from there)");
  const fs::path real = fs::canonical(p, ec);
  if (ec) return train::InvalidField(field, requested, outside);
  // Prefix check by path components, so /data2/x is not "inside" /data.
  auto r = root.begin();
  auto q = real.begin();
  for (; r != root.end(); ++r, ++q) {
    if (q == real.end() || *q != *r) return train::InvalidField(field, requested, outside);
  }
  if (!fs::is_regular_file(real, ec)) return train::InvalidField(field, requested, outside);
  return real.string();
}

train::TrainConfig ConfigFromResolvedSpec(const v1::JobSpec& s) {
  train::TrainConfig c = train::DefaultConfig(s.task(), s.model());
  c.epochs = s.epochs();
  c.batch_size = s.batch_size();
  c.lr = s.learning_rate();
  c.optimizer = s.optimizer();
  c.train_size = s.train_size();
  c.valid_size = s.valid_size();
  c.seed = s.seed();
  c.threads = s.threads();
  c.embeddings_path = s.embeddings_file();
  const tasks::Task* task = tasks::FindTask(s.task());
  if (task && task->info().word_vectors) c.embedding_dim = s.embedding_dim();
  c.momentum = s.momentum();
  c.lr_decay = s.lr_decay();
  return c;
}

absl::StatusOr<ResolvedSpec> ResolveSpec(const v1::JobSpec& in,
                                         const std::vector<std::string>& devices,
                                         int default_threads, const std::string& embeddings_dir) {
  // Lengths first: every later message quotes these values.
  for (const auto& [field, value] :
       {std::pair<const char*, const std::string*>{"task", &in.task()},
        {"model", &in.model()},
        {"optimizer", &in.optimizer()},
        {"device", &in.device()}}) {
    if (absl::Status st = CheckLength(field, *value, kMaxNameBytes); !st.ok()) return st;
  }
  if (absl::Status st = CheckLength("embeddings_file", in.embeddings_file(), kMaxPathBytes);
      !st.ok()) {
    return st;
  }
  if (absl::Status st = CheckJobName(in.name()); !st.ok()) return st;
  v1::JobSpec s = in;
  // The task decides every other default, so it is checked first.
  absl::StatusOr<const tasks::Task*> found = tasks::GetTask(s.task());
  if (!found.ok()) return found.status();
  const tasks::Task& task = **found;
  const bool word_vectors = task.info().word_vectors;
  if (s.model().empty()) s.set_model(task.default_model());
  // DefaultConfig of an unknown model is still a usable base; Validate names the model below.
  const train::TrainConfig d = train::DefaultConfig(s.task(), s.model());

  const std::string device = s.device();
  if (device.empty() || device == "auto") {
    s.set_device(devices.front());
  } else if (std::find(devices.begin(), devices.end(), device) == devices.end()) {
    const bool cuda = device.rfind("cuda:", 0) == 0;
    return train::InvalidField("device", device,
                               absl::StrCat(cuda ? "" : "must be auto, cpu or cuda:N; ",
                                            "available devices: ", absl::StrJoin(devices, ", "),
                                            cuda && cuda::GpuCount() == 0
                                                ? absl::StrCat(" (no GPU: ", cuda::NoGpuReason(), ")")
                                                : ""));
  }

  if (s.threads() < 0) {
    return train::InvalidField("threads", std::to_string(s.threads()),
                               "must be >= 0 (0 = every core)");
  }
  if (s.threads() == 0) s.set_threads(default_threads);

  if (!s.embeddings_file().empty()) {
    if (!word_vectors) {
      return train::InvalidField(
          "embeddings_file", s.embeddings_file(),
          absl::StrCat("word vectors apply to ", train::WordVectorTasks(), " only"));
    }
    // Clients name files on the daemon's machine: only those under the allow-listed directory
    // are read. Jobs may run long after submission, so the resolved path is what is stored.
    if (!embeddings_dir.empty()) {
      absl::StatusOr<std::string> real =
          ConfinedFile("embeddings_file", s.embeddings_file(), embeddings_dir);
      if (!real.ok()) return real.status();
      s.set_embeddings_file(*real);
    } else {
      std::error_code ec;
      std::filesystem::path p = std::filesystem::absolute(s.embeddings_file(), ec);
      if (ec || !std::filesystem::is_regular_file(p, ec)) {
        return train::InvalidField(
            "embeddings_file", s.embeddings_file(),
            "no such file on the daemon's machine (give a GloVe text file's path there)");
      }
      s.set_embeddings_file(p.string());
    }
  }
  if (!word_vectors && s.embedding_dim() != 0) {
    return train::InvalidField(
        "embedding_dim", std::to_string(s.embedding_dim()),
        absl::StrCat("applies to ", train::WordVectorTasks(), " only (leave it 0)"));
  }

  if (s.epochs() == 0) s.set_epochs(d.epochs);
  if (s.batch_size() == 0) s.set_batch_size(d.batch_size);
  if (s.learning_rate() == 0) s.set_learning_rate(d.lr);
  if (s.optimizer().empty()) s.set_optimizer(d.optimizer);
  if (s.seed() == 0) s.set_seed(1);
  if (word_vectors && s.embedding_dim() == 0) s.set_embedding_dim(d.embedding_dim);
  if (!s.has_momentum() || s.momentum() < 0) s.set_momentum(d.momentum);
  if (!s.has_lr_decay() || s.lr_decay() == 0) s.set_lr_decay(d.lr_decay);

  ResolvedSpec r;
  r.config = ConfigFromResolvedSpec(s);
  if (absl::Status st = train::Validate(r.config); !st.ok()) return st;
  r.spec = std::move(s);
  return r;
}

}  // namespace mt::server
