// mt-bench: times a fixed number of training steps and inference batches of one model on the
// real data (the task registry loads it) and prints one JSON object, so that bench/run.sh can
// set it side by side with bench/torch_bench.py, which prints the same fields for PyTorch.
// A benchmark, not a test: it asserts nothing about speed.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "common/float_mode.h"
#include "common/omp_wait.h"
#include "engine/autograd.h"
#include "engine/device_scope.h"
#include "engine/nn.h"
#include "engine/optim.h"
#include "engine/threads.h"
#include "engine/models/models.h"
#include "engine/tasks/registry.h"
#include "engine/train/replicas.h"
#include "engine/train/config.h"
#include "engine/train/dataset.h"
#include "engine/train/device_run.h"

ABSL_FLAG(std::string, model, "lenet5", "lenet5 | minitorch_mnist | kim_cnn");
ABSL_FLAG(std::string, data_dir, "", "folder holding mnist/ and sst2/ (required)");
ABSL_FLAG(int64_t, batch_size, 0, "training batch size (0 = the model's default)");
ABSL_FLAG(int64_t, train_steps, 200, "timed training steps (0 = skip training)");
ABSL_FLAG(int64_t, infer_batch_size, 256, "inference batch size");
ABSL_FLAG(int64_t, infer_batches, 20, "timed inference batches (0 = skip inference)");
ABSL_FLAG(int64_t, warmup, 5, "untimed steps / batches before each timing");
ABSL_FLAG(int64_t, train_size, 0, "load the first N training examples (0 = all)");
ABSL_FLAG(int, threads, 2, "op threads");
ABSL_FLAG(std::string, data, "real",
          "real (load from --data_dir) or synthetic (random tensors of the same shapes: images "
          "(N,1,28,28); token ids (N,--synthetic_length) below --synthetic_vocab)");
ABSL_FLAG(int64_t, synthetic_length, 20, "synthetic sst2: tokens per sentence");
ABSL_FLAG(int64_t, synthetic_vocab, 14000, "synthetic sst2: vocabulary size");
ABSL_FLAG(std::string, device, "cpu",
          "cpu or cuda:N: the model, batches and every step live there (batches are uploaded "
          "before timing, as the PyTorch side's are)");

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point from) {
  return std::chrono::duration<double>(Clock::now() - from).count();
}

// Batches of consecutive examples (wrapping around), built before timing so that the figures
// measure the model, as the PyTorch side's pre-built batches do.
std::vector<mt::train::Batch> MakeBatches(const mt::train::Dataset& data, int64_t batch_size,
                                          int64_t count) {
  std::vector<mt::train::Batch> batches;
  std::vector<int64_t> indices(batch_size);
  int64_t next = 0;
  for (int64_t b = 0; b < count; ++b) {
    for (int64_t& i : indices) i = next++ % data.size();
    batches.push_back(data.Get(indices.data(), batch_size));
  }
  return batches;
}

// A dataset of random examples with the real ones' shapes, for machines without the data.
class SyntheticDataset : public mt::train::Dataset {
 public:
  SyntheticDataset(bool text, int64_t length, int64_t vocab)
      : text_(text), length_(length), vocab_(vocab) {}
  int64_t size() const override { return 1 << 20; }
  mt::train::Batch Get(const int64_t* indices, int64_t n) const override {
    std::vector<int64_t> target(n);
    for (int64_t i = 0; i < n; ++i) target[i] = Hash(indices[i]) % (text_ ? 2 : 10);
    mt::train::Batch batch;
    batch.target = mt::Tensor::FromInt64(target, {n});
    if (text_) {
      std::vector<int64_t> ids(n * length_);
      for (int64_t i = 0; i < n * length_; ++i) ids[i] = 1 + Hash(i + indices[i / length_]) % (vocab_ - 1);
      batch.input = mt::Tensor::FromInt64(ids, {n, length_});
    } else {
      std::vector<double> pixels(n * 28 * 28);
      for (int64_t i = 0; i < n * 28 * 28; ++i) {
        pixels[i] = (Hash(i + 7919 * indices[i / (28 * 28)]) % 1000) / 1000.0;
      }
      batch.input = mt::Tensor::FromVector(pixels, {n, 1, 28, 28});
    }
    return batch;
  }

 private:
  static uint64_t Hash(uint64_t x) {  // splitmix64's finaliser: cheap, deterministic noise
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  }
  bool text_;
  int64_t length_, vocab_;
};

int Run() {
  const std::string model_name = absl::GetFlag(FLAGS_model);
  const std::string task_name = model_name == "kim_cnn" ? "sst2" : "mnist";
  mt::train::TrainConfig config = mt::train::DefaultConfig(task_name, model_name);
  config.data_dir = absl::GetFlag(FLAGS_data_dir);
  config.train_size = absl::GetFlag(FLAGS_train_size);
  config.threads = absl::GetFlag(FLAGS_threads);
  if (absl::GetFlag(FLAGS_batch_size) > 0) config.batch_size = absl::GetFlag(FLAGS_batch_size);
  if (absl::Status s = mt::train::Validate(config); !s.ok()) {
    std::cerr << "mt-bench: " << s << "\n";
    return 2;
  }
  const bool synthetic = absl::GetFlag(FLAGS_data) == "synthetic";
  if (!synthetic && absl::GetFlag(FLAGS_data) != "real") {
    std::cerr << "mt-bench: invalid --data '" << absl::GetFlag(FLAGS_data)
              << "': must be real or synthetic\n";
    return 2;
  }
  // Real data: the task loads it and builds the model (its vocabulary sizes kim_cnn).
  // Synthetic: the model is built here with the synthetic vocabulary.
  mt::train::TaskData data;
  std::unique_ptr<mt::models::Model> model;
  if (synthetic) {
    const bool text = task_name == "sst2";
    const int64_t vocab = absl::GetFlag(FLAGS_synthetic_vocab);
    data.train = std::make_unique<SyntheticDataset>(text, absl::GetFlag(FLAGS_synthetic_length), vocab);
    data.valid = std::make_unique<SyntheticDataset>(text, absl::GetFlag(FLAGS_synthetic_length), vocab);
    if (model_name == "kim_cnn") {
      mt::models::KimCnnOptions options;
      options.vocab_size = vocab;
      options.embedding_dim = config.embedding_dim;
      model = std::make_unique<mt::models::KimCnn>(options, config.seed);
    } else if (model_name == "minitorch_mnist") {
      model = std::make_unique<mt::models::MinitorchMnist>(config.seed);
    } else {
      model = std::make_unique<mt::models::Lenet5>(config.seed);
    }
  } else {
    const mt::tasks::Task* task = mt::tasks::FindTask(task_name);
    absl::StatusOr<mt::train::TaskData> loaded = task->Load(config);
    if (!loaded.ok()) {
      std::cerr << "mt-bench: " << loaded.status() << " (or run with --data=synthetic)\n";
      return 2;
    }
    data = std::move(*loaded);
    absl::StatusOr<std::unique_ptr<mt::models::Model>> built = task->BuildModel(config, data);
    if (!built.ok()) {
      std::cerr << "mt-bench: " << built.status() << "\n";
      return 2;
    }
    model = std::move(*built);
  }
  mt::SetThreadCount(config.threads);
  absl::StatusOr<mt::Device> device = mt::train::ParseDevice(absl::GetFlag(FLAGS_device));
  if (!device.ok()) {
    std::cerr << "mt-bench: " << device.status().message() << "\n";
    return 2;
  }
  // A stream of our own on a GPU; nothing on the CPU. Timings below end with a synchronisation
  // of this stream, so they include all the device work.
  std::unique_ptr<mt::ScopedDevice> scope;
  try {
    scope = std::make_unique<mt::ScopedDevice>(*device);
    model->MoveTo(*device);
  } catch (const mt::Error& e) {
    std::cerr << "mt-bench: " << e.what() << "\n";
    return 2;
  }
  const auto to_device = [&](std::vector<mt::train::Batch> batches) {
    for (mt::train::Batch& b : batches) b = {b.input.To(*device), b.target.To(*device)};
    return batches;
  };

  const int64_t warmup = absl::GetFlag(FLAGS_warmup);
  nlohmann::json out;
  out["impl"] = "mt";
  out["model"] = model_name;
  out["threads"] = config.threads;
  out["data"] = synthetic ? "synthetic" : "real";
  out["optimizer"] = config.optimizer;
  out["device"] = device->ToString();

  const int64_t steps = absl::GetFlag(FLAGS_train_steps);
  if (steps > 0) {
    std::unique_ptr<mt::optim::Optimizer> optimizer;
    if (config.optimizer == "adam") {
      optimizer = std::make_unique<mt::optim::Adam>(model->Parameters(),
                                                    mt::optim::AdamOptions{.lr = config.lr});
    } else {
      optimizer = std::make_unique<mt::optim::Sgd>(
          model->Parameters(),
          mt::optim::SgdOptions{.lr = config.lr, .momentum = config.momentum});
    }
    std::vector<mt::train::Batch> batches = to_device(
        MakeBatches(*data.train, config.batch_size, std::min<int64_t>(steps + warmup, 500)));
    model->Train();
    // As the trainer does on the CPU: the batch split over the cores (engine/train/replicas.h).
    const int pieces = *device == mt::Device::CPU()
                           ? mt::train::Replicas::PiecesFor(mt::SplitCount(), config.batch_size)
                           : 1;
    std::unique_ptr<mt::train::Replicas> replicas;
    if (pieces > 1) replicas = std::make_unique<mt::train::Replicas>(model.get(), pieces);
    out["pieces"] = pieces;
    double loss = 0;
    Clock::time_point start;
    for (int64_t s = 0; s < steps + warmup; ++s) {
      if (s == warmup) start = Clock::now();
      const mt::train::Batch& batch = batches[s % batches.size()];
      optimizer->ZeroGrad();
      if (replicas) {
        loss = replicas->ForwardBackwardStep(batch, mt::ThreadCount(), optimizer.get()).loss;
        continue;
      }
      mt::Tensor l = mt::NllLoss(model->Forward(batch.input), batch.target);
      l.Backward();
      optimizer->Step();
      loss = l.item();
    }
    scope->Synchronize();
    const double seconds = Seconds(start);
    out["train"] = {{"batch_size", config.batch_size},
                    {"steps", steps},
                    {"seconds", seconds},
                    {"samples_per_s", steps * config.batch_size / seconds},
                    {"last_loss", loss}};
  }

  const int64_t infer = absl::GetFlag(FLAGS_infer_batches);
  if (infer > 0) {
    const int64_t bs = absl::GetFlag(FLAGS_infer_batch_size);
    std::vector<mt::train::Batch> batches =
        to_device(MakeBatches(*data.valid, bs, std::min<int64_t>(infer + warmup, 40)));
    model->Train(false);
    mt::NoGradGuard no_grad;
    // As the trainer's validation does on the CPU: the batch split over the cores (where the
    // model says that is faster than splitting each op).
    const int pieces = *device == mt::Device::CPU() && model->SplitsInferenceBatches()
                           ? mt::train::Replicas::PiecesFor(mt::SplitCount(), bs)
                           : 1;
    std::unique_ptr<mt::train::Replicas> replicas;
    if (pieces > 1) replicas = std::make_unique<mt::train::Replicas>(model.get(), pieces);
    Clock::time_point start;
    for (int64_t b = 0; b < infer + warmup; ++b) {
      if (b == warmup) {
        scope->Synchronize();  // the warm-up batches' device work is not timed
        start = Clock::now();
      }
      const mt::Tensor& input = batches[b % batches.size()].input;
      mt::Tensor out_probs = replicas ? replicas->Forward(input, mt::ThreadCount())
                                      : model->Forward(input);
      (void)out_probs;
    }
    scope->Synchronize();
    const double seconds = Seconds(start);
    out["infer"] = {{"batch_size", bs},
                    {"pieces", pieces},
                    {"batches", infer},
                    {"seconds", seconds},
                    {"samples_per_s", infer * bs / seconds}};
  }
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  out["max_rss_mb"] = usage.ru_maxrss / 1024.0;  // kilobytes on Linux
  std::cout << out.dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // The same default as mt-train and the daemon (the contention rows run it at its defaults).
  mt::EnsureBriefOpenMpWait(argv);
  mt::FlushDenormalsUnlessKept();  // before any thread starts: every thread inherits it
  absl::ParseCommandLine(argc, argv);
  return Run();
}
