#include "engine/train/replicas.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/ops.h"
#include "engine/threads.h"

namespace mt::train {
namespace {

// into[i] += from[0][i] + ... in that order, over flat gradient buffers of one layout (host
// memory), on up to `threads` threads when the buffers are large (Kim CNN's embedding table).
template <typename T>
void AddInto(const Tensor& into, const std::vector<Tensor>& from, int threads) {
  T* out = static_cast<T*>(into.raw_data());
  std::vector<const T*> in;
  for (const Tensor& f : from) in.push_back(static_cast<const T*>(f.raw_data()));
  const int64_t n = into.numel(), chunk = 1 << 14;
  const int64_t chunks = (n + chunk - 1) / chunk;
  const int team = n * static_cast<int64_t>(in.size()) >= (1 << 20) ? threads : 1;
#pragma omp parallel for num_threads(team) schedule(static) if (team > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t end = std::min(n, (c + 1) * chunk);
    for (const T* src : in) {
#pragma omp simd
      for (int64_t i = c * chunk; i < end; ++i) out[i] += src[i];
    }
  }
}

// Polls done() until it returns true or `nanos` have passed; returns its last answer.
template <typename Done>
bool SpinFor(int64_t nanos, Done done) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point end = Clock::now() + std::chrono::nanoseconds(nanos);
  for (int i = 1;; ++i) {
    if (done()) return true;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();  // tells the core this is a wait loop (and the other hyperthread)
#endif
    if (i % 64 == 0 && Clock::now() >= end) return done();
  }
}

}  // namespace

Replicas::Replicas(models::Model* model, int count) : model_(model) {
  MT_CHECK(count >= 2, "Replicas: needs at least 2 pieces, got ", count);
  for (int r = 1; r < count; ++r) replicas_.push_back(model->NewReplica());
  pieces_.resize(count);
  assigned_.assign(count - 1, false);
  try {
    for (int i = 0; i + 1 < count; ++i) workers_.emplace_back([this, i] { WorkerLoop(i); });
  } catch (...) {
    StopWorkers();  // a thread that could not start: join those that did, then say why
    throw;
  }
}

Replicas::~Replicas() { StopWorkers(); }

void Replicas::StopWorkers() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  start_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
}

int Replicas::PiecesFor(int threads, int64_t batch_size) {
  if (threads < 2) return 1;
  return static_cast<int>(std::min<int64_t>(threads, batch_size / 2));
}

void Replicas::Run(Piece* piece) {
  try {
    ScopedThreads one(1);  // the cores are the pieces' now
    if (piece->forward_only) {
      NoGradGuard no_grad;  // per thread: the caller's guard does not reach the workers
      piece->output = piece->model->Forward(piece->batch.input);
      return;
    }
    // A replica's gradients are zeroed by the thread that adds into them next, so their cache
    // lines stay with that core (zeroed by the caller, each line would cross cores twice).
    if (piece->zero_grad) piece->model->ZeroGrad();
    const Tensor log_probs = piece->model->Forward(piece->batch.input);
    const Tensor loss = NllLoss(log_probs, piece->batch.target);
    // Weighted so that the pieces' gradients add up to the whole batch's mean-loss gradient.
    (loss * piece->weight).Backward();
    piece->loss = loss.item();
    NoGradGuard no_grad;
    const std::vector<int64_t> pred = Argmax(log_probs, 1).ToInt64Vector();
    const std::vector<int64_t> want = piece->batch.target.ToInt64Vector();
    int64_t correct = 0;
    for (size_t i = 0; i < pred.size(); ++i) correct += pred[i] == want[i];
    piece->correct = correct;
  } catch (...) {
    piece->error = std::current_exception();
  }
}

void Replicas::WorkerLoop(int index) {
  int64_t seen = 0;
  bool ran = false;  // ran a piece in generation `seen`: the next one likely follows soon
  for (;;) {
    if (ran) {
      SpinFor(kSpinNanos, [&] { return generation_.load(std::memory_order_acquire) != seen; });
    }
    {
      std::unique_lock<std::mutex> lock(mu_);
      start_cv_.wait(lock, [&] { return stop_ || generation_.load() != seen; });
      if (stop_) return;
      seen = generation_.load();
      ran = assigned_[index];
      if (!ran) continue;
    }
    Run(&pieces_[index + 1]);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      // Under the lock, so that a caller between its check and its wait hears it.
      std::lock_guard<std::mutex> lock(mu_);
      done_cv_.notify_one();
    }
  }
}

void Replicas::Cut(const Batch& batch, bool forward_only) {
  const int k = count();
  const int64_t n = batch.input.size(0);
  MT_CHECK(n >= k && (forward_only || batch.target.size(0) == n), "Replicas: a batch of ", n,
           " examples cannot be split into ", k, " pieces");
  MT_CHECK(batch.input.device() == Device::CPU() &&
               (forward_only || batch.target.device() == Device::CPU()),
           "Replicas: the batch must be on the CPU");
  for (const std::unique_ptr<models::Model>& replica : replicas_) {
    // The model's parameters moved (MoveTo) since the last step: view their new home, or say
    // why not (a model no longer on the CPU).
    if (!replica->SharesParametersWith(*model_)) replica->ShareParametersWith(*model_);
  }
  int64_t start = 0;
  for (int r = 0; r < k; ++r) {
    const int64_t len = n / k + (r < n % k ? 1 : 0);
    Piece& p = pieces_[r];
    p.model = r == 0 ? model_ : replicas_[r - 1].get();
    p.forward_only = forward_only;
    p.batch.input = Narrow(batch.input, 0, start, len);
    p.batch.target = forward_only ? Tensor() : Narrow(batch.target, 0, start, len);
    p.output = Tensor();
    p.weight = static_cast<double>(len) / static_cast<double>(n);
    p.loss = 0;
    p.correct = 0;
    p.error = nullptr;
    p.zero_grad = r > 0 && !forward_only;
    start += len;
    if (r > 0) {
      models::Model* replica = replicas_[r - 1].get();
      replica->Train(model_->is_training());
      // One draw of the model's generator per replica and step: the masks follow the model's
      // generator state, which checkpoints hold. An eval-mode forward draws no masks and takes
      // nothing from it (validation between epochs leaves training's masks as they were).
      if (!forward_only || model_->is_training()) {
        replica->dropout_generator().Seed(model_->dropout_generator().engine()());
      }
    }
  }
}

int Replicas::RunPieces(int threads) {
  const int k = count();
  const int parallel = std::clamp(threads, 1, k);
  if (parallel > 1) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int i = 0; i + 1 < k; ++i) assigned_[i] = i + 1 < parallel;
      pending_.store(parallel - 1);
      generation_.fetch_add(1);
    }
    start_cv_.notify_all();
  }
  Run(&pieces_[0]);
  for (int r = parallel; r < k; ++r) Run(&pieces_[r]);
  if (parallel > 1) {
    const auto finished = [&] { return pending_.load(std::memory_order_acquire) == 0; };
    if (!SpinFor(kSpinNanos, finished)) {
      std::unique_lock<std::mutex> lock(mu_);
      done_cv_.wait(lock, finished);
    }
  }
  std::exception_ptr error;
  for (Piece& p : pieces_) {
    if (p.error && !error) error = p.error;
    p.batch = Batch();  // the pieces' views keep no batch alive between steps
  }
  if (error) {
    for (Piece& p : pieces_) p.output = Tensor();
    std::rethrow_exception(error);
  }
  return parallel;
}

Replicas::Result Replicas::ForwardBackward(const Batch& batch, int threads) {
  Cut(batch, /*forward_only=*/false);
  const int parallel = RunPieces(threads);
  Result result;
  for (const Piece& p : pieces_) {
    result.loss += p.weight * p.loss;
    result.correct += p.correct;
  }
  for (DType dtype : {DType::kFloat32, DType::kFloat64}) {
    const Tensor into = model_->GatherGradients(dtype);
    if (!into.defined()) continue;
    std::vector<Tensor> from;
    for (const std::unique_ptr<models::Model>& replica : replicas_) {
      from.push_back(replica->GatherGradients(dtype));
    }
    if (dtype == DType::kFloat32) {
      AddInto<float>(into, from, parallel);
    } else {
      AddInto<double>(into, from, parallel);
    }
  }
  return result;
}

Tensor Replicas::Forward(const Tensor& input, int threads) {
  if (input.size(0) >= count() && input.size(0) < 2 * count()) {
    // A piece of one example would take the one-row product path (Gemv), whose sums may run
    // in another order than the whole batch's: such small batches run whole, on this thread.
    NoGradGuard no_grad;
    return model_->Forward(input);
  }
  Batch batch;
  batch.input = input;
  Cut(batch, /*forward_only=*/true);
  RunPieces(threads);
  std::vector<Tensor> outputs;
  for (Piece& p : pieces_) outputs.push_back(std::exchange(p.output, Tensor()));
  return Cat(outputs, 0);
}

}  // namespace mt::train
