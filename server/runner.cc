#include "server/runner.h"

#include <filesystem>
#include <new>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/error.h"
#include "engine/tasks/registry.h"
#include "engine/train/datasets.h"
#include "engine/train/device_run.h"
#include "server/checkpoint_meta.h"

namespace mt::server {
namespace {

namespace fs = std::filesystem;

constexpr char kLatestCheckpoint[] = "latest.safetensors";

// Bridges the trainer's callbacks to the run's.
class Bridge : public train::TrainerCallback {
 public:
  Bridge(const RunCallbacks* callbacks, std::atomic<bool>* cancel)
      : callbacks_(callbacks), cancel_(cancel) {}
  // Where OnEpoch finds the epoch's validation report, and the task's class names.
  void set_trainer(const train::Trainer* trainer, std::vector<std::string> class_names) {
    trainer_ = trainer;
    class_names_ = std::move(class_names);
  }
  void OnBatch(const train::BatchProgress& p) override {
    num_batches_ = p.num_batches;
    if (callbacks_->on_progress) callbacks_->on_progress(BatchProgressProto(p));
  }
  void OnEpoch(const train::EpochMetrics& m) override {
    if (callbacks_->on_history && trainer_ && trainer_->last_validation().epoch == m.epoch &&
        persist_error_.ok()) {
      v1::JobEvent event;
      *event.mutable_confusion() = ConfusionMatrixProto(trainer_->last_validation(), class_names_);
      Fail(callbacks_->on_history(event));
    }
    if (!callbacks_->on_epoch) return;
    v1::EpochMetrics metrics = EpochMetricsProto(m);
    if (num_batches_ > 0) metrics.set_step(m.epoch * num_batches_);  // every epoch has as many
    absl::Status s = callbacks_->on_epoch(metrics);
    if (!s.ok() && persist_error_.ok()) {
      persist_error_ = s;
      *cancel_ = true;
    }
  }
  const absl::Status& persist_error() const { return persist_error_; }

 private:
  void Fail(absl::Status s) {
    if (!s.ok() && persist_error_.ok()) {
      persist_error_ = std::move(s);
      *cancel_ = true;
    }
  }

  const RunCallbacks* callbacks_;
  std::atomic<bool>* cancel_;
  const train::Trainer* trainer_ = nullptr;
  std::vector<std::string> class_names_;
  int64_t num_batches_ = 0;  // per epoch, from the batches seen
  absl::Status persist_error_;
};

}  // namespace

v1::EpochMetrics EpochMetricsProto(const train::EpochMetrics& m) {
  v1::EpochMetrics p;
  p.set_epoch(m.epoch);
  p.set_train_loss(m.train_loss);
  p.set_train_accuracy(m.train_accuracy);
  p.set_valid_accuracy(m.valid_accuracy);
  p.set_valid_correct(m.valid_correct);
  p.set_valid_total(m.valid_total);
  p.set_seconds(m.seconds);
  p.set_samples_per_second(m.samples_per_second);
  p.set_learning_rate(m.lr);
  p.set_valid_loss(m.valid_loss);
  return p;
}

v1::ConfusionMatrix ConfusionMatrixProto(const train::ValidationReport& r,
                                         const std::vector<std::string>& class_names) {
  v1::ConfusionMatrix c;
  c.set_epoch(r.epoch);
  c.set_num_classes(static_cast<int32_t>(r.num_classes));
  for (int64_t n : r.confusion) c.add_counts(n);
  if (static_cast<int64_t>(class_names.size()) == r.num_classes) {
    for (const std::string& name : class_names) c.add_class_names(name);
  }
  for (const train::Misclassified& x : r.misclassified) {
    v1::ConfusionExample* e = c.add_misclassified();
    e->set_valid_index(x.index);
    e->set_label(x.label);
    e->set_predicted(x.predicted);
  }
  c.set_misclassified_total(r.misclassified_total);
  return c;
}

v1::BatchProgress BatchProgressProto(const train::BatchProgress& p) {
  v1::BatchProgress bp;
  bp.set_epoch(p.epoch);
  bp.set_batch(p.batch);
  bp.set_num_batches(p.num_batches);
  bp.set_mean_loss(p.mean_loss);
  return bp;
}

void ThreadRunner::Start(RunRequest request, bool cancelled, RunCallbacks callbacks) {
  std::unique_lock<std::mutex> lock(mu_);
  JoinFinished(lock);
  const int64_t id = next_++;
  ++live_;
  auto cancel = std::make_shared<CancelFlag>(cancelled);
  cancel_[request.job_id] = cancel;
  threads_[id] = std::thread([this, id, request = std::move(request), cancel,
                              callbacks = std::move(callbacks)]() {
    RunOutcome o = Train(request, cancel.get(), callbacks);
    {
      // Before on_finished: once the job has ended, a new run of it may start at any moment.
      std::lock_guard<std::mutex> lock(mu_);
      if (auto it = cancel_.find(request.job_id); it != cancel_.end() && it->second == cancel) {
        cancel_.erase(it);
      }
    }
    callbacks.on_finished(o);
    std::lock_guard<std::mutex> lock(mu_);
    finished_.push_back(id);
    --live_;
    idle_cv_.notify_all();
  });
}

void ThreadRunner::JoinFinished(std::unique_lock<std::mutex>& lock) {
  std::vector<std::thread> done;
  for (int64_t id : finished_) {
    auto it = threads_.find(id);
    if (it == threads_.end()) continue;
    done.push_back(std::move(it->second));
    threads_.erase(it);
  }
  finished_.clear();
  // These threads have nothing left to do but return.
  lock.unlock();
  for (std::thread& t : done) t.join();
  lock.lock();
}

void ThreadRunner::Cancel(const std::string& job_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = cancel_.find(job_id); it != cancel_.end()) *it->second = true;
}

void ThreadRunner::CancelAll() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [job, flag] : cancel_) *flag = true;
}

void ThreadRunner::WaitIdle() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_cv_.wait(lock, [&] { return live_ == 0; });
  JoinFinished(lock);
}

RunOutcome ThreadRunner::Train(const RunRequest& request, CancelFlag* cancel,
                               const RunCallbacks& callbacks) {
  RunOutcome o;
  const train::TrainConfig& config = request.config;
  try {
    const std::string& dir = request.checkpoint_dir;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
      o.status = absl::PermissionDeniedError(
          absl::StrCat("cannot create checkpoint folder ", dir, ": ", ec.message()));
      return o;
    }
    absl::StatusOr<std::shared_ptr<const train::TaskData>> data = data_->Get(config);
    if (!data.ok()) {
      o.status = data.status();
      if (absl::IsNotFound(o.status)) {
        o.status = absl::NotFoundError(absl::StrCat(
            o.status.message(), " (the daemon reads datasets from ", config.data_dir,
            "; fetch them with scripts/fetch_data.sh)"));
      }
      return o;
    }
    absl::StatusOr<std::unique_ptr<models::Model>> model = train::BuildModel(config, **data);
    if (!model.ok()) {
      o.status = model.status();
      return o;
    }
    absl::StatusOr<Device> device = train::ParseDevice(request.device);
    if (!device.ok()) {
      o.status = device.status();
      return o;
    }
    train::Trainer trainer(config, model->get(), (*data)->train.get(), (*data)->valid.get());
    trainer.set_device(*device);
    trainer.set_checkpoint_dir(dir);
    if ((*data)->vocab) trainer.set_extra_metadata(VocabMetadata(*(*data)->vocab));
    const std::string latest = LatestCheckpointPath(dir);
    if (fs::exists(latest, ec)) {
      if (absl::Status s = trainer.Restore(latest); !s.ok()) {
        o.status = absl::Status(s.code(), absl::StrCat("cannot resume from ", latest, ": ",
                                                       s.message()));
        return o;
      }
    }
    const std::atomic<bool>* run_cancel = cancel;
    if (request.extension) {
      if (absl::Status s = request.extension->Prepare(trainer, **model, cancel, &run_cancel);
          !s.ok()) {
        o.status = s;
        request.extension->Finish(&o);
        return o;
      }
    }
    Bridge bridge(&callbacks, cancel);
    const tasks::Task* task = tasks::FindTask(config.task);
    bridge.set_trainer(&trainer, task ? task->class_names() : std::vector<std::string>{});
    absl::StatusOr<train::TrainResult> r = trainer.Run(&bridge, run_cancel);
    o.completed_epochs = trainer.completed_epochs();
    if (!bridge.persist_error().ok()) {
      o.status = bridge.persist_error();
    } else if (!r.ok()) {
      o.status = r.status();
    } else {
      o.cancelled = r->cancelled;
      o.best_valid_accuracy = r->best_valid_accuracy;
      o.best_epoch = r->best_epoch;
    }
    if (request.extension) request.extension->Finish(&o);
  } catch (const OutOfMemory& e) {
    // Before Error, which it derives from: running out of memory is not a bad argument.
    o.status = absl::ResourceExhaustedError(absl::StrCat(e.what(), "; try a smaller batch_size"));
  } catch (const Error& e) {
    o.status = absl::InvalidArgumentError(e.what());
  } catch (const std::bad_alloc&) {
    o.status = absl::ResourceExhaustedError("out of memory; try a smaller batch_size");
  } catch (const std::exception& e) {
    o.status = absl::InternalError(e.what());
  }
  return o;
}

CheckpointInfo InspectCheckpoint(const std::string& path) {
  CheckpointInfo ck;
  ck.epoch = CheckpointEpoch(path);
  if (std::optional<train::EpochMetrics> m = CheckpointEpochMetrics(path)) {
    ck.metrics = EpochMetricsProto(*m);
  }
  return ck;
}

std::string LatestCheckpointPath(const std::string& checkpoint_dir) {
  return absl::StrCat(checkpoint_dir, "/", kLatestCheckpoint);
}

}  // namespace mt::server
