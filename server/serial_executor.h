// Runs tasks one at a time, in the order they were posted, on a thread of its own: work that
// must not hold up the thread that produces it. The job manager posts a running job's
// training-loss points here, so the job's thread never waits for the database's fsync (each
// point is a transaction; at 20 points an epoch, LeNet-5's epoch on 2 cores spent about 80
// fdatasync waits on its training thread).
//
// The queue is bounded: a Post that finds it full runs the task on the caller's thread, after
// the tasks already queued, so that order holds and memory does not grow without limit.
//
// The thread may run at a lower priority (a nice value above the process's): on a machine whose
// cores a training job keeps busy, a woken writer at the same priority preempts a training
// thread, and the job's other threads then wait for that one at their next barrier.
#ifndef MT_SERVER_SERIAL_EXECUTOR_H_
#define MT_SERVER_SERIAL_EXECUTOR_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace mt::server {

class SerialExecutor {
 public:
  // `nice_increment` > 0 lowers the thread's priority by that much (Linux; at most to 19).
  explicit SerialExecutor(size_t max_queued = 1024, int nice_increment = 0);
  // Runs every task still queued, then stops the thread.
  ~SerialExecutor();
  SerialExecutor(const SerialExecutor&) = delete;
  SerialExecutor& operator=(const SerialExecutor&) = delete;

  // Queues `task` after every task posted before it. A task must not call Post or Drain.
  void Post(std::function<void()> task);
  // Returns once every task posted before the call has run.
  void Drain();

 private:
  void Loop(int nice_increment);

  const size_t max_queued_;
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  struct Task {
    int64_t seq;  // 1, 2, 3, ... in posting order
    std::function<void()> run;
  };
  std::deque<Task> queue_;
  int64_t posted_ = 0;    // tasks ever posted (the last one's seq)
  int64_t finished_ = 0;  // tasks that have run: seqs 1..finished_
  bool stop_ = false;
  std::thread thread_;  // last: starts once the rest is ready
};

}  // namespace mt::server

#endif  // MT_SERVER_SERIAL_EXECUTOR_H_
