// mt-train: trains one network on one task without the daemon, printing one line per epoch, like
// MiniTorch's project/run_mnist_multiclass.py and run_sentiment.py.
//
//   bazel run //engine/train:mt-train -- --task=mnist --model=lenet5 --epochs=10

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/cli_flags.h"
#include "common/float_mode.h"
#include "common/omp_wait.h"
#include "engine/tasks/registry.h"
#include "engine/threads.h"
#include "engine/train/dist_launch.h"
#include "engine/cuda/runtime.h"
#include "engine/train/device_run.h"
#include "engine/train/trainer.h"

ABSL_FLAG(std::string, task, "mnist", "mnist or sst2");
ABSL_FLAG(std::string, model, "", "mnist: lenet5 (default) | minitorch_mnist; sst2: kim_cnn");
ABSL_FLAG(int64_t, epochs, -1, "epochs to train (default: per model)");
ABSL_FLAG(int64_t, batch_size, -1, "mini-batch size (default: per model)");
ABSL_FLAG(std::string, optimizer, "", "sgd or adam (default: per model)");
ABSL_FLAG(double, lr, -1, "learning rate (default: per model)");
ABSL_FLAG(double, momentum, -1, "SGD momentum (default: per model)");
ABSL_FLAG(double, weight_decay, 0, "L2 weight decay");
ABSL_FLAG(double, lr_decay, -1, "multiply the learning rate by this after every epoch");
ABSL_FLAG(int64_t, train_size, 0, "use the first N training examples (0 = all)");
ABSL_FLAG(int64_t, valid_size, 0, "use the first N held-out examples (0 = all)");
ABSL_FLAG(uint64_t, seed, 1, "seed for initialisation, shuffling and dropout");
ABSL_FLAG(int, threads, 0, "OpenMP threads (0 = every core)");
ABSL_FLAG(std::string, data_dir, "",
          "folder holding mnist/ and sst2/ (default: $MT_DATA_DIR, else data/ in the repo)");
ABSL_FLAG(std::string, embeddings, "", "sst2: GloVe text file (default: learn from scratch)");
ABSL_FLAG(int64_t, embedding_dim, 128, "sst2: embedding size (must match --embeddings)");
ABSL_FLAG(bool, freeze_embeddings, false, "sst2: keep --embeddings fixed");
ABSL_FLAG(double, dropout, 0.5, "sst2: kim_cnn dropout rate");
ABSL_FLAG(int64_t, min_count, -1, "sst2: keep vocabulary tokens seen at least this often (default: 2)");
ABSL_FLAG(std::string, checkpoint_dir, "", "write a checkpoint after every epoch here");
ABSL_FLAG(std::string, resume, "", "continue from this checkpoint (same flags as its run)");
// Data-parallel workers (README "Scale-out"); without these flags, srun's or mpirun's variables.
ABSL_FLAG(int, rank, -1, "this worker's rank in [0, --world_size) (default: $SLURM_PROCID, "
          "$OMPI_COMM_WORLD_RANK, else 0)");
ABSL_FLAG(int, world_size, -1, "workers in the job; --batch_size is per worker (default: "
          "$SLURM_NTASKS, $OMPI_COMM_WORLD_SIZE, else 1)");
ABSL_FLAG(std::string, rendezvous, "", "where the workers meet: an empty folder every worker "
          "can see (a fresh one per run), or HOST:PORT of a daemon's store (mt-worker only) "
          "(default: $MT_RENDEZVOUS)");
ABSL_FLAG(int, dist_timeout_s, 60, "seconds a worker waits for the others before failing");
ABSL_FLAG(int, dist_rendezvous_timeout_s, 0,
          "seconds the workers may take to find each other at start (0: --dist_timeout_s)");
ABSL_FLAG(std::string, dist_host, "127.0.0.1",
          "the address this worker listens on for the others (this host's, across machines)");
ABSL_FLAG(std::string, rendezvous_prefix, "mt", "namespace of this job's keys in the store");
ABSL_FLAG(std::string, device, "cpu",
          "cpu, cuda:N, or auto (the GPU with the most free memory, else the CPU)");

namespace {

std::string DefaultDataDir() {
  if (const char* env = std::getenv("MT_DATA_DIR"); env && *env) return env;
  // `bazel run` starts us in the runfiles tree; data/ lives in the workspace.
  if (const char* ws = std::getenv("BUILD_WORKSPACE_DIRECTORY"); ws && *ws) {
    return std::string(ws) + "/data";
  }
  return "data";
}

// Relative paths given on the command line are relative to where the user typed them.
std::string UserPath(const std::string& p) {
  if (p.empty() || p[0] == '/') return p;
  if (const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY"); cwd && *cwd) {
    return std::string(cwd) + "/" + p;
  }
  return p;
}

void PrintEpoch(const mt::train::EpochMetrics& m) {
  std::printf(
      "Epoch %lld loss %.4f train acc %.2f%% valid acc %.2f%% (%lld/%lld) time %.1fs "
      "(%.0f samples/s)\n",
      static_cast<long long>(m.epoch), m.train_loss, 100 * m.train_accuracy,
      100 * m.valid_accuracy, static_cast<long long>(m.valid_correct),
      static_cast<long long>(m.valid_total), m.seconds, m.samples_per_second);
  std::fflush(stdout);
}

// The registered tasks, for --help: "  mnist  handwritten digits ...; models: lenet5 (default), ...".
std::string TaskList() {
  std::string out = "Tasks:\n";
  for (const mt::tasks::Task* t : mt::tasks::AllTasks()) {
    absl::StrAppend(&out, "  ", t->name(), "  ", t->info().description, "; models: ",
                    t->default_model(), " (default)");
    for (size_t i = 1; i < t->models().size(); ++i) absl::StrAppend(&out, ", ", t->models()[i]);
    absl::StrAppend(&out, "\n");
  }
  return out;
}

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "mt-train: %s\n", std::string(s.message()).c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  // Before anything starts a thread: idle OpenMP threads sleep instead of spinning against
  // other processes (may re-execute this program once with OMP_WAIT_POLICY=PASSIVE and a brief GOMP_SPINCOUNT).
  mt::EnsureBriefOpenMpWait(argv);
  mt::FlushDenormalsUnlessKept();  // before any thread starts: every thread inherits it
  absl::SetProgramUsageMessage(absl::StrCat(
      "Trains an mt network without the daemon.\n"
      "  mt-train --task=mnist [--model=lenet5|minitorch_mnist] [--epochs=N] ...\n"
      "  mt-train --task=sst2 [--embeddings=glove.6B.50d.txt --embedding_dim=50] ...\n"
      "Flags may be spelled as mt-client spells them (--train-size) or with underscores.\n",
      TaskList()));
  // --help lists this file's flags (absl's default looks for a file named after the binary).
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "engine/train/mt_train.cc");
  };
  absl::SetFlagsUsageConfig(usage);
  // --train-size as well as --train_size, as mt-client spells them; --help exits 0; --version.
  mt::ParseFlags(argc, argv, "mt-train");
  const std::string task = absl::GetFlag(FLAGS_task);
  std::string model = absl::GetFlag(FLAGS_model);
  // An unknown task keeps the model empty; Validate below names the task.
  if (const mt::tasks::Task* t = mt::tasks::FindTask(task); t && model.empty()) {
    model = t->default_model();
  }
  mt::train::TrainConfig c = mt::train::DefaultConfig(task, model);
  if (absl::GetFlag(FLAGS_epochs) >= 0) c.epochs = absl::GetFlag(FLAGS_epochs);
  if (absl::GetFlag(FLAGS_batch_size) >= 0) c.batch_size = absl::GetFlag(FLAGS_batch_size);
  if (!absl::GetFlag(FLAGS_optimizer).empty()) c.optimizer = absl::GetFlag(FLAGS_optimizer);
  if (absl::GetFlag(FLAGS_lr) >= 0) c.lr = absl::GetFlag(FLAGS_lr);
  if (absl::GetFlag(FLAGS_momentum) >= 0) c.momentum = absl::GetFlag(FLAGS_momentum);
  if (absl::GetFlag(FLAGS_lr_decay) >= 0) c.lr_decay = absl::GetFlag(FLAGS_lr_decay);
  c.weight_decay = absl::GetFlag(FLAGS_weight_decay);
  c.train_size = absl::GetFlag(FLAGS_train_size);
  c.valid_size = absl::GetFlag(FLAGS_valid_size);
  c.seed = absl::GetFlag(FLAGS_seed);
  c.threads = absl::GetFlag(FLAGS_threads);
  c.data_dir = absl::GetFlag(FLAGS_data_dir).empty() ? DefaultDataDir()
                                                     : UserPath(absl::GetFlag(FLAGS_data_dir));
  c.embeddings_path = UserPath(absl::GetFlag(FLAGS_embeddings));
  c.embedding_dim = absl::GetFlag(FLAGS_embedding_dim);
  c.freeze_embeddings = absl::GetFlag(FLAGS_freeze_embeddings);
  c.dropout = absl::GetFlag(FLAGS_dropout);
  if (absl::GetFlag(FLAGS_min_count) >= 0) c.min_count = absl::GetFlag(FLAGS_min_count);
  if (absl::Status s = mt::train::Validate(c); !s.ok()) return Fail(s);
  absl::StatusOr<mt::train::WorldSpec> world = mt::train::ResolveWorld(
      absl::GetFlag(FLAGS_rank), absl::GetFlag(FLAGS_world_size), absl::GetFlag(FLAGS_rendezvous),
      [](const char* name) -> const char* { return std::getenv(name); });
  if (!world.ok()) return Fail(world.status());
  // Rank 0 alone reads and writes checkpoints and prints; the others get its state when joining.
  const bool report = world->rank == 0;
  const std::string device_flag = absl::GetFlag(FLAGS_device);
  absl::StatusOr<mt::Device> device = device_flag == "auto" ? mt::train::AutoDevice()
                                                            : mt::train::ParseDevice(device_flag);
  if (!device.ok()) return Fail(device.status());
  // A GPU that is not there is said before the data is loaded.
  if (device->type == mt::Device::Type::kCUDA) {
    if (absl::Status s = mt::cuda::CheckIndex(device->index); !s.ok()) return Fail(s);
  }

  absl::StatusOr<mt::train::TaskData> data = mt::train::LoadTask(c);
  if (!data.ok()) {
    return Fail(absl::Status(data.status().code(),
                             absl::StrCat(data.status().message(),
                                          "\n(fetch the datasets with scripts/fetch_data.sh)")));
  }
  absl::StatusOr<std::unique_ptr<mt::models::Model>> net = mt::train::BuildModel(c, *data);
  if (!net.ok()) return Fail(net.status());
  mt::train::Trainer trainer(c, net->get(), data->train.get(), data->valid.get());
  if (data->vocab) {
    trainer.set_extra_metadata({{mt::train::kVocabKey, mt::train::JoinVocab(*data->vocab)}});
  }
  trainer.set_device(*device);
  const std::string ckpt = UserPath(absl::GetFlag(FLAGS_checkpoint_dir));
  if (!ckpt.empty() && report) {
    // Like `mkdir -p`: users name a new folder here as often as an existing one.
    std::error_code ec;
    std::filesystem::create_directories(ckpt, ec);
    if (ec) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat("--checkpoint_dir: cannot create ", ckpt, ": ", ec.message())));
    }
    trainer.set_checkpoint_dir(ckpt);
  }
  if (!absl::GetFlag(FLAGS_resume).empty() && report) {
    if (absl::Status s = trainer.Restore(UserPath(absl::GetFlag(FLAGS_resume))); !s.ok()) return Fail(s);
    std::printf("Resumed after epoch %lld\n", static_cast<long long>(trainer.completed_epochs()));
  }
  // The job's output is rank 0's; the others print only errors (stderr).
  if (!report && std::freopen("/dev/null", "w", stdout) == nullptr) return 1;
  std::printf("mt-train %s\n", mt::train::ToJson(c).c_str());
  std::printf("model %s: %lld parameters; %s %lld examples, %s %lld examples; %d threads\n",
              model.c_str(), static_cast<long long>((*net)->NumParameters()),
              data->train_name.c_str(), static_cast<long long>(data->train->size()),
              data->valid_name.c_str(), static_cast<long long>(data->valid->size()),
              c.threads ? c.threads : mt::ThreadCount());
  if (!data->notes.empty()) std::printf("%s\n", data->notes.c_str());
  if (*device != mt::Device::CPU()) std::printf("device %s\n", device->ToString().c_str());
  std::fflush(stdout);
  std::unique_ptr<mt::train::JoinedWorld> joined;
  const std::atomic<bool>* cancel = nullptr;
  if (world->size > 1) {
    std::printf("rank %d of %d (from %s), rendezvous %s; batch %lld per worker, %lld in all\n",
                world->rank, world->size, world->source.c_str(), world->rendezvous.c_str(),
                static_cast<long long>(c.batch_size),
                static_cast<long long>(c.batch_size * world->size));
    std::fflush(stdout);
    mt::train::JoinOptions join;
    join.timeout = std::chrono::seconds(std::max(1, absl::GetFlag(FLAGS_dist_timeout_s)));
    join.rendezvous_timeout = std::chrono::seconds(absl::GetFlag(FLAGS_dist_rendezvous_timeout_s));
    join.host = absl::GetFlag(FLAGS_dist_host);
    join.key_prefix = absl::GetFlag(FLAGS_rendezvous_prefix);
    absl::StatusOr<std::unique_ptr<mt::train::JoinedWorld>> j =
        mt::train::JoinedWorld::Join(*world, join, &trainer, net->get());
    if (!j.ok()) return Fail(j.status());
    joined = std::move(*j);
    cancel = joined->ShareCancel(mt::train::StopOnSignals());
  }
  if (report) trainer.AddAfterEpochHook(PrintEpoch);
  absl::StatusOr<mt::train::TrainResult> r = trainer.Run(nullptr, cancel);
  if (!r.ok()) return Fail(r.status());
  if (r->cancelled) {
    std::fprintf(stderr, "mt-train: rank %d stopped by a signal after epoch %lld\n", world->rank,
                 static_cast<long long>(trainer.completed_epochs()));
    return 3;
  }
  std::printf("Best valid acc: %.2f%% (epoch %lld)\n", 100 * r->best_valid_accuracy,
              static_cast<long long>(r->best_epoch));
  return 0;
}
