#include "server/serial_executor.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

namespace mt::server {

SerialExecutor::SerialExecutor(size_t max_queued, int nice_increment)
    : max_queued_(max_queued < 1 ? 1 : max_queued),
      thread_([this, nice_increment] { Loop(nice_increment); }) {}

SerialExecutor::~SerialExecutor() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_one();
  thread_.join();
}

void SerialExecutor::Post(std::function<void()> task) {
  std::unique_lock<std::mutex> lock(mu_);
  if (queue_.size() < max_queued_) {
    queue_.push_back(Task{++posted_, std::move(task)});
    lock.unlock();
    work_cv_.notify_one();
    return;
  }
  // Full: wait for what is queued, then run this one here, still in order. The count of
  // posted tasks covers it before it runs, so a Drain that starts meanwhile waits for it too.
  const int64_t mine = ++posted_;
  done_cv_.wait(lock, [&] { return finished_ == mine - 1; });
  lock.unlock();
  task();
  lock.lock();
  ++finished_;
  lock.unlock();
  done_cv_.notify_all();
  work_cv_.notify_one();  // tasks posted while this one ran wait for it
}

void SerialExecutor::Drain() {
  std::unique_lock<std::mutex> lock(mu_);
  const int64_t target = posted_;
  done_cv_.wait(lock, [&] { return finished_ >= target; });
}

void SerialExecutor::Loop(int nice_increment) {
  if (nice_increment > 0) {
    // On Linux a nice value belongs to the thread (its tid); failing to lower it is harmless.
    const pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
    errno = 0;
    const int now = getpriority(PRIO_PROCESS, static_cast<id_t>(tid));
    if (errno == 0) {
      setpriority(PRIO_PROCESS, static_cast<id_t>(tid), std::min(19, now + nice_increment));
    }
  }
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    // The front of the queue runs only when every task posted before it has finished (one
    // run inline by a Post that found the queue full may still be running).
    work_cv_.wait(lock, [&] {
      return (!queue_.empty() && queue_.front().seq == finished_ + 1) ||
             (stop_ && queue_.empty());
    });
    if (queue_.empty()) return;  // stop_, nothing left
    std::function<void()> task = std::move(queue_.front().run);
    queue_.pop_front();
    lock.unlock();
    task();
    lock.lock();
    ++finished_;
    done_cv_.notify_all();
  }
}

}  // namespace mt::server
