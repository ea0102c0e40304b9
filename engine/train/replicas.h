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
// alone works (adding the gradients, the optimiser, the next batch) for a fraction of that; a
// sleeping worker's virtual CPU goes idle. Measured on a 2-vCPU VM: two 1-thread processes
// together trained 10-20 % faster than one process on 2 threads, and perf put the extra time in
// the compute kernels (ForwardBlock +26 %), which suggests (not proven) that a woken vCPU runs
// cold for a while. LeNet-5 on 2 threads, mt-bench, 8 interleaved rounds: 1 -> 2 threads 1.65x without the spin, 1.72x with a
// 0.2 ms spin, 1.82x with 1 ms (medians); a second 8-round A/B on a much noisier VM gave +2 %
// (pairs 0.82-1.19): the gain depends on the VM's state and bench/run.sh has not confirmed it
// (its 3-round run gave 1.38x, within-round 1.17-2.07x: noise). The spin is bounded, and a worker that had no piece in the last step (a busy neighbour
// took a core back, engine/cpu_load.h) does not spin at all: no spinning against a neighbour.
//
// What holds (replicas_test.cc): the loss is the batch's mean NLL, piece r weighted n_r / n, so
// the gradient equals the one-piece gradient up to float rounding (the sums over the batch run
// in another order); the result depends on count() and the batch, never on how many threads
// ran the pieces, so a job that gives a core back to a busy neighbour (engine/cpu_load.h) keeps
// its bits. Dropout: piece r > 0 draws from its replica's generator, reseeded each step from one
// draw of the model's own generator, so a checkpoint of the model's generator resumes exactly.
#ifndef MT_ENGINE_TRAIN_REPLICAS_H_
#define MT_ENGINE_TRAIN_REPLICAS_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/models/models.h"
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
  // Fills pieces_ with count() pieces of `batch` (targets may be undefined for forward_only).
  void Cut(const Batch& batch, bool forward_only);
  // Runs every piece, `threads` at a time; rethrows the first piece's error. Returns how many
  // ran at once.
  int RunPieces(int threads);
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
};

}  // namespace mt::train

#endif  // MT_ENGINE_TRAIN_REPLICAS_H_
