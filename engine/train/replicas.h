// One training step's forward and backward split over the cores: the batch is cut into
// count() contiguous pieces and each piece runs the whole network on its own thread, with one op
// thread, on a replica of the model that shares the model's weights (models::Model::NewReplica)
// and keeps its own gradients; the pieces' gradients are then added into the model's own flat
// gradient buffer, where the optimiser (and any after-backward hook) finds them.
//
// Why: LeNet-5's or MiniTorch's network at batch 16-64 is a few milliseconds of many small ops.
// Splitting each op over two threads pays a fork and a join per op (75 OpenMP regions a LeNet-5
// step) and leaves the small ones serial; two pieces of the batch, each on one core from the
// first layer to the last, meet once per step.
//
// Waiting: a worker that ran a piece, and the caller waiting for the workers' pieces, first
// spin for up to kSpinNanos, then sleep on a condition variable. Between two steps the caller
// alone works (the next batch, the bookkeeping) for a fraction of that; a sleeping worker's
// virtual CPU goes idle. On a 2-vCPU VM (2026-12-07), LeNet-5 on 2 threads, mt-bench, 8
// interleaved rounds: 1 -> 2 threads 1.65x without the spin, 1.72x with a 0.2 ms spin, 1.82x
// with 1 ms (medians); a second 8-round A/B on a much noisier VM gave +2 % (pairs 0.82-1.19),
// so the gain depends on the VM's state. The spin is bounded, and a worker that had no piece
// in the last step (a busy neighbour took a core back, engine/cpu_load.h) does not spin at
// all: no spinning against a neighbour.
//
// What holds (replicas_test.cc): the loss is the batch's mean NLL, piece r weighted n_r / n, so
// the gradient equals the one-piece gradient up to float rounding (the sums over the batch run
// in another order); the result depends on count() and the batch, never on how many threads
// ran the pieces, so a job that gives a core back to a busy neighbour (engine/cpu_load.h) keeps
// its bits. Dropout: piece r > 0 draws from its replica's generator, reseeded each step from one
// draw of the model's own generator, so a checkpoint of the model's generator resumes exactly.
#ifndef MT_ENGINE_TRAIN_REPLICAS_H_
#define MT_ENGINE_TRAIN_REPLICAS_H_

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/models/models.h"
#include "engine/optim.h"
#include "engine/train/dataset.h"

namespace mt::train {

class Replicas {
 public:
  // count >= 2 pieces over `model` (flat, on the CPU) and count - 1 replicas of it; piece 0 runs
  // on `model` itself on the calling thread. `model` must outlive this object.
  Replicas(models::Model* model, int count);
  ~Replicas();
  Replicas(const Replicas&) = delete;
  Replicas& operator=(const Replicas&) = delete;

  int count() const { return static_cast<int>(replicas_.size()) + 1; }

  // How many pieces a step of `batch_size` examples splits into at `threads` (the job's setting
  // resolved, engine/threads.h SplitCount()): one per thread, with at least two examples per
  // piece; 1 (no split) below two threads.
  static int PiecesFor(int threads, int64_t batch_size);

  struct Result {
    double loss = 0;       // the batch's mean NLL
    int64_t correct = 0;   // examples whose argmax is the target
  };
  // Forward and backward of the mean NLL of `batch` (CPU tensors, N >= count()), leaving the
  // batch's gradient in the model's flat gradient buffer (nn::Module::GatherGradients' layout,
  // every parameter's .grad pointing into it) as the model's own backward would. The caller
  // zeroes the model's gradients first (the optimiser's ZeroGrad); the replicas' are zeroed
  // here. `threads` (>= 1) is how many threads may run pieces at once: fewer than count() runs
  // the rest one after another on the calling thread. An exception in any piece is rethrown
  // here after every piece has finished; the model's gradients are then partial (the step must
  // not be applied). The model must be on the CPU; if its parameters moved since the last step
  // the replicas follow them. Not thread-safe: one step at a time per object.
  Result ForwardBackward(const Batch& batch, int threads);

  // ForwardBackward followed by optimizer->Step(), bit for bit, done the way data-parallel
  // training across machines does it: each replica keeps its own copy of the weights and of the
  // optimiser's state, every thread adds up all the pieces' gradients into its own buffer and
  // steps its own copy, and the copies stay equal because the same sums go through the same
  // rule. Why: with the weights shared, the caller's step writes lines the other core has just
  // read, and each write waits for that core's copy to be dropped (LeNet-5's SGD step: 35 us
  // after two pieces in turn on one core, 140 us after two at once, serial); the worker then
  // reads every weight back across the cores. With copies, only the gradients cross, once
  // each way, in parallel. The model's gradient buffer holds the batch's gradient afterwards.
  //
  // The copies are made (from the model and `optimizer`) on the first call, and again whenever
  // the model's parameters or the optimiser may have changed without this object: a call of
  // ForwardBackward or Forward (they view the model's weights again), another optimiser, an
  // optimiser step count other than the one this object left, a LoadState, parameters that
  // moved, Invalidate(). Anything else that rewrites the model's weights in place between two
  // calls must call Invalidate(). Taken only when every piece has a thread of its own
  // (threads >= count()), the model has at most kPrivateMaxParams parameters and `optimizer` is
  // over the model's Parameters(), in order; otherwise this is ForwardBackward then
  // optimizer->Step(). Beyond that size each core stepping every weight costs more than sharing
  // them: Kim CNN (2.0M parameters, Adam) trained at 4.2-4.4k sentences/s with copies against
  // 5.2-5.6k shared (mt-bench, 5 interleaved rounds, 2026-12-08). After an exception the
  // model's weights may be partly updated (as after a failed Step).
  Result ForwardBackwardStep(const Batch& batch, int threads, optim::Optimizer* optimizer);

  // Drops the replicas' copies of the weights and optimiser state: the next
  // ForwardBackwardStep copies them afresh. For whoever rewrites the model's weights in place
  // (a checkpoint restore: Trainer::RestoreFrom), which the replicas cannot see.
  void Invalidate() { private_ = false; }
  // Whether the replicas hold copies now (the last step went through ForwardBackwardStep's
  // copies and nothing has dropped them since).
  bool holds_copies() const { return private_; }

  // The model's output for `input` (CPU, N >= count() examples) without gradients, the pieces
  // run as above in the model's current train/eval mode and their outputs joined along dim 0:
  // inference and validation batches split over the cores like training steps. The same values
  // as one Forward over the whole batch, bit for bit where each example's output depends on
  // that example alone (a model in eval mode). Fewer than two examples a piece: the whole
  // batch runs as one Forward on the calling thread.
  Tensor Forward(const Tensor& input, int threads);

 private:
  struct Piece {
    models::Model* model = nullptr;
    bool forward_only = false;  // Forward: no loss, no backward; `output` is the result
    bool zero_grad = false;     // a replica's training piece: its gradients start from zero
    Batch batch;
    Tensor output;
    double weight = 0;  // n_r / n
    double loss = 0;
    int64_t correct = 0;
    std::exception_ptr error;
  };
  // Whether the replicas' copies are in step with the model and `optimizer` (see
  // ForwardBackwardStep).
  bool InStep(const optim::Optimizer& optimizer) const;
  // Gives every replica a copy of the model's weights and of optimizer's state.
  void Privatize(const optim::Optimizer& optimizer);
  // On the caller, every piece done: the gradient buffers' addresses, the learning rate.
  void PrepareExchange();
  // Thread t's share of the step: the sum of every piece's gradients into scratch_[t], a
  // barrier, the sum copied into t's own gradient buffer and t's optimiser stepped.
  void RunExchange(int t);
  // Fills pieces_ with count() pieces of `batch` (targets may be undefined for forward_only).
  // With `share`, the replicas view the model's weights again (leaving any copies).
  void Cut(const Batch& batch, bool forward_only, bool share = true);
  // Runs every piece, `threads` at a time, then, with `optimizer`, the gradient exchange and
  // the steps of every copy (RunExchange, ForwardBackwardStep); rethrows the first error.
  // Returns how many ran at once.
  int RunPieces(int threads, optim::Optimizer* optimizer = nullptr);
  static void Run(Piece* piece);
  void WorkerLoop(int index);
  void StopWorkers();  // stops and joins every started worker

  models::Model* model_;
  std::vector<std::unique_ptr<models::Model>> replicas_;
  std::vector<Piece> pieces_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable start_cv_, done_cv_;
  // How long a waiting thread spins before it sleeps (see the top of this file).
  static constexpr int64_t kSpinNanos = 1'000'000;

  // generation_ and assigned_ are written under mu_ (generation_ also read without it while
  // spinning); pending_ is set under mu_ and counted down by the workers without it.
  std::atomic<int64_t> generation_{0};  // bumped once per step that hands pieces to workers
  std::vector<bool> assigned_;          // worker i runs pieces_[i + 1] in this generation
  std::atomic<int> pending_{0};         // worker pieces not yet finished
  bool stop_ = false;

  // The step's phase (ForwardBackwardStep), written by the caller: step_ under mu_ with the
  // generation; everything else before step_go_ is set to the generation, which releases the
  // workers into RunExchange once every piece is done.
  static constexpr int64_t kPrivateMaxParams = int64_t{1} << 20;
  static constexpr std::array<DType, 2> kDTypes = {DType::kFloat32, DType::kFloat64};
  optim::Optimizer* step_ = nullptr;  // null: this generation has no step phase
  bool step_run_ = false;             // false: a piece failed, the exchange is skipped
  std::atomic<int64_t> step_go_{0};
  std::atomic<int> step_pending_{0};  // worker exchanges not yet finished
  std::atomic<int> arrived_{0};       // threads still summing (RunExchange's barrier)
  std::condition_variable barrier_cv_;
  std::vector<std::exception_ptr> exchange_errors_;
  // Per dtype: every piece's flat gradient buffer (the model's first) and its length.
  std::array<std::vector<const void*>, 2> flat_grads_;
  std::array<int64_t, 2> flat_numel_{};
  std::vector<std::vector<Tensor>> scratch_;  // [thread][dtype]: that thread's sum

  // The replicas' copies (Privatize) and what they were made from.
  bool private_ = false;
  std::vector<std::unique_ptr<optim::Optimizer>> replica_optimizers_;
  uint64_t synced_optimizer_ = 0;  // Optimizer::id()
  int64_t synced_steps_ = -1;
  int64_t synced_version_ = -1;  // Optimizer::state_version()
  std::array<const void*, 2> synced_values_{};  // the model's flat buffers then
};

}  // namespace mt::train

#endif  // MT_ENGINE_TRAIN_REPLICAS_H_
