#include "engine/train/replicas.h"

#include <algorithm>
#include <chrono>
#include <cstring>
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

// out = from[0] + from[1] + ..., element by element in that order (as AddInto adds them).
template <typename T>
void SumInto(void* into, const std::vector<const void*>& from, int64_t n) {
  T* __restrict out = static_cast<T*>(into);
  const T* __restrict first = static_cast<const T*>(from[0]);
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) out[i] = first[i];
  for (size_t r = 1; r < from.size(); ++r) {
    const T* __restrict src = static_cast<const T*>(from[r]);
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) out[i] += src[i];
  }
}

// Waits until done() (spinning first, as the hand-over does), on `cv` under `mu`.
template <typename Done>
void WaitFor(std::mutex& mu, std::condition_variable& cv, int64_t spin_nanos, Done done) {
  if (SpinFor(spin_nanos, done)) return;
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, done);
}

// Whether `optimizer` steps exactly `model`'s parameters, in order.
bool StepsModel(const optim::Optimizer& optimizer, const models::Model& model) {
  const std::vector<Tensor> mine = model.Parameters();
  const std::vector<Tensor>& stepped = optimizer.params();
  if (stepped.size() != mine.size()) return false;
  for (size_t i = 0; i < mine.size(); ++i) {
    if (stepped[i].raw_data() != mine[i].raw_data() || stepped[i].numel() != mine[i].numel() ||
        stepped[i].dtype() != mine[i].dtype()) {
      return false;
    }
  }
  return true;
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
    bool stepping = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      start_cv_.wait(lock, [&] { return stop_ || generation_.load() != seen; });
      if (stop_) return;
      seen = generation_.load();
      ran = assigned_[index];
      if (!ran) continue;
      stepping = step_ != nullptr;
    }
    Run(&pieces_[index + 1]);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      // Under the lock, so that a caller between its check and its wait hears it.
      std::lock_guard<std::mutex> lock(mu_);
      done_cv_.notify_one();
    }
    if (!stepping) continue;
    // The caller releases the exchange once every piece is done (it always does, also when
    // one failed: then step_run_ is false), so this wait ends without stop_.
    const auto go = [&] { return step_go_.load(std::memory_order_acquire) == seen; };
    if (!SpinFor(kSpinNanos, go)) {
      std::unique_lock<std::mutex> lock(mu_);
      start_cv_.wait(lock, [&] { return stop_ || go(); });
      if (!go()) return;  // stopping
    }
    if (step_run_) RunExchange(index + 1);
    if (step_pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(mu_);
      done_cv_.notify_one();
    }
  }
}

bool Replicas::InStep(const optim::Optimizer& optimizer) const {
  if (!private_ || synced_optimizer_ != optimizer.id() || synced_steps_ != optimizer.steps() ||
      synced_version_ != optimizer.state_version()) {
    return false;
  }
  for (size_t d = 0; d < kDTypes.size(); ++d) {
    const Tensor values = model_->FlatParameters(kDTypes[d]);
    if ((values.defined() ? values.raw_data() : nullptr) != synced_values_[d]) return false;
  }
  return true;
}

void Replicas::Privatize(const optim::Optimizer& optimizer) {
  private_ = false;
  replica_optimizers_.clear();
  for (const std::unique_ptr<models::Model>& replica : replicas_) {
    replica->ShareParametersWith(*model_);  // the model's current values and layout
    replica->UnshareParameters();           // ... copied
    replica_optimizers_.push_back(optimizer.CloneFor(replica->Parameters()));
  }
  scratch_.assign(count(), std::vector<Tensor>(kDTypes.size()));
  for (size_t d = 0; d < kDTypes.size(); ++d) {
    const Tensor values = model_->FlatParameters(kDTypes[d]);
    synced_values_[d] = values.defined() ? values.raw_data() : nullptr;
    if (!values.defined()) continue;
    for (std::vector<Tensor>& mine : scratch_) {
      mine[d] = Tensor::Empty(values.shape(), kDTypes[d], Device::CPU());
    }
  }
  synced_optimizer_ = optimizer.id();
  synced_steps_ = optimizer.steps();
  synced_version_ = optimizer.state_version();
  private_ = true;
}

void Replicas::PrepareExchange() {
  for (size_t d = 0; d < kDTypes.size(); ++d) {
    flat_grads_[d].clear();
    // Every flat parameter's gradient then lives in its slot of the flat buffer, zeroed if
    // backward gave it none.
    const Tensor mine = model_->GatherGradients(kDTypes[d]);
    if (!mine.defined()) continue;
    flat_grads_[d].push_back(mine.raw_data());
    flat_numel_[d] = mine.numel();
    for (const std::unique_ptr<models::Model>& replica : replicas_) {
      const Tensor theirs = replica->GatherGradients(kDTypes[d]);
      MT_CHECK(theirs.defined() && theirs.numel() == mine.numel(),
               "Replicas: a replica's gradient buffer differs from the model's");
      flat_grads_[d].push_back(theirs.raw_data());
    }
  }
  for (const std::unique_ptr<optim::Optimizer>& o : replica_optimizers_) o->set_lr(step_->lr());
}

void Replicas::RunExchange(int t) {
  ScopedThreads one(1);  // one core each
  try {
    for (size_t d = 0; d < kDTypes.size(); ++d) {
      if (flat_grads_[d].empty()) continue;
      void* sum = scratch_[t][d].raw_data();
      if (kDTypes[d] == DType::kFloat64) {
        SumInto<double>(sum, flat_grads_[d], flat_numel_[d]);
      } else {
        SumInto<float>(sum, flat_grads_[d], flat_numel_[d]);
      }
    }
  } catch (...) {
    exchange_errors_[t] = std::current_exception();
  }
  // Every thread has read every gradient buffer before any is overwritten with the sum.
  if (arrived_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    std::lock_guard<std::mutex> lock(mu_);
    barrier_cv_.notify_all();
  }
  WaitFor(mu_, barrier_cv_, kSpinNanos,
          [&] { return arrived_.load(std::memory_order_acquire) == 0; });
  if (exchange_errors_[t]) return;
  try {
    for (size_t d = 0; d < kDTypes.size(); ++d) {
      if (flat_grads_[d].empty()) continue;
      const size_t bytes = static_cast<size_t>(flat_numel_[d]) * ElementSize(kDTypes[d]);
      std::memcpy(const_cast<void*>(flat_grads_[d][t]), scratch_[t][d].raw_data(), bytes);
    }
    (t == 0 ? step_ : replica_optimizers_[t - 1].get())->Step();
  } catch (...) {
    exchange_errors_[t] = std::current_exception();
  }
}

void Replicas::Cut(const Batch& batch, bool forward_only, bool share) {
  const int k = count();
  const int64_t n = batch.input.size(0);
  MT_CHECK(n >= k && (forward_only || batch.target.size(0) == n), "Replicas: a batch of ", n,
           " examples cannot be split into ", k, " pieces");
  MT_CHECK(batch.input.device() == Device::CPU() &&
               (forward_only || batch.target.device() == Device::CPU()),
           "Replicas: the batch must be on the CPU");
  if (share) {
    for (const std::unique_ptr<models::Model>& replica : replicas_) {
      // The model's parameters moved (MoveTo) since the last step, or the replicas hold copies
      // (ForwardBackwardStep): view the model's, or say why not (a model no longer on the CPU).
      if (!replica->SharesParametersWith(*model_)) replica->ShareParametersWith(*model_);
    }
    private_ = false;
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

int Replicas::RunPieces(int threads, optim::Optimizer* optimizer) {
  const int k = count();
  const int parallel = std::clamp(threads, 1, k);
  MT_CHECK(optimizer == nullptr || parallel > 1, "Replicas: the gradient exchange needs two threads");
  int64_t generation = 0;
  if (parallel > 1) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int i = 0; i + 1 < k; ++i) assigned_[i] = i + 1 < parallel;
      pending_.store(parallel - 1);
      step_ = optimizer;
      step_pending_.store(optimizer ? parallel - 1 : 0);
      generation = generation_.fetch_add(1) + 1;
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
  if (optimizer != nullptr) {
    // Every piece is done: exchange the gradients and step every copy of the weights. The
    // workers wait for step_go_ whatever happens here, so it is set on every path.
    bool run = !error;
    try {
      exchange_errors_.assign(parallel, nullptr);
      if (run) PrepareExchange();
    } catch (...) {
      if (!error) error = std::current_exception();
      run = false;
    }
    arrived_.store(parallel);
    {
      std::lock_guard<std::mutex> lock(mu_);
      step_run_ = run;
      step_go_.store(generation, std::memory_order_release);
    }
    start_cv_.notify_all();
    if (run) RunExchange(0);
    WaitFor(mu_, done_cv_, kSpinNanos,
            [&] { return step_pending_.load(std::memory_order_acquire) == 0; });
    for (const std::exception_ptr& e : exchange_errors_) {
      if (e && !error) error = e;
    }
    if (error) {
      private_ = false;  // the copies may differ now: copied afresh next time
    } else {
      synced_steps_ = optimizer->steps();
    }
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

Replicas::Result Replicas::ForwardBackwardStep(const Batch& batch, int threads,
                                                optim::Optimizer* optimizer) {
  MT_CHECK(optimizer != nullptr, "Replicas::ForwardBackwardStep: no optimiser");
  // The model and the optimiser are checked when the copies are made: while InStep holds, the
  // same optimiser steps the same flat buffers.
  const bool copies =
      std::clamp(threads, 1, count()) == count() &&
      (InStep(*optimizer) ||
       (model_->NumParameters() <= kPrivateMaxParams && StepsModel(*optimizer, *model_)));
  if (!copies) {
    const Result result = ForwardBackward(batch, threads);
    optimizer->Step();
    return result;
  }
  if (!InStep(*optimizer)) Privatize(*optimizer);
  Cut(batch, /*forward_only=*/false, /*share=*/false);
  RunPieces(threads, optimizer);
  Result result;
  for (const Piece& p : pieces_) {
    result.loss += p.weight * p.loss;
    result.correct += p.correct;
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
