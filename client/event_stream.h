// The bookkeeping behind `logs -f`: which events of a WatchJob stream (possibly spread over
// several connections) to show, where to resume after a disconnect, and how long to keep trying.
// No I/O, so the "never a gap, never a duplicate" promise is unit-tested.
#ifndef MT_CLIENT_EVENT_STREAM_H_
#define MT_CLIENT_EVENT_STREAM_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "proto/training.pb.h"

namespace mt::client {

class EventFilter {
 public:
  // `from_epoch` > 1 hides everything up to (and including) the last epoch event before it, so
  // the output starts with the first event of that epoch; `from_seq` is where the stream starts.
  explicit EventFilter(int64_t from_epoch = 0, int64_t from_seq = 1);

  // Takes the next event received and returns the events to show now, in order: none (a
  // duplicate, or held back by --from), this one, or several that --from was holding back.
  std::vector<v1::JobEvent> Accept(const v1::JobEvent& event);

  // The from_seq of a reconnecting WatchJob call.
  int64_t next_seq() const { return last_seq_ + 1; }
  // Over every epoch event seen, shown or not: the fallback when GetJob cannot say.
  double best_valid_accuracy() const { return best_accuracy_; }
  int64_t best_epoch() const { return best_epoch_; }

 private:
  int64_t from_epoch_;
  int64_t last_seq_;
  bool released_;  // --from's starting point has been reached
  std::vector<v1::JobEvent> held_;
  double best_accuracy_ = 0;
  int64_t best_epoch_ = 0;
};

// Delays between reconnection attempts: doubling from `first` up to `max_delay`, given up once
// `budget` has passed since the connection was lost. Reset() after an event arrives.
class Backoff {
 public:
  using Clock = std::chrono::steady_clock;

  Backoff(std::chrono::milliseconds first = std::chrono::milliseconds(250),
          std::chrono::milliseconds max_delay = std::chrono::seconds(2),
          std::chrono::milliseconds budget = std::chrono::seconds(60));

  // The wait before the next attempt, or nullopt when the budget is spent.
  std::optional<std::chrono::milliseconds> Next(Clock::time_point now);
  void Reset();
  bool lost() const { return lost_since_.has_value(); }

 private:
  std::chrono::milliseconds first_, max_delay_, budget_, delay_;
  std::optional<Clock::time_point> lost_since_;
};

// Whether a WatchJob stream that ended with this gRPC status code (grpc::StatusCode as int) is
// worth reopening: transport trouble and daemon restarts are; a refusal (unknown job, bad
// argument) is not.
bool IsRetryableStreamError(int grpc_code);

}  // namespace mt::client

#endif  // MT_CLIENT_EVENT_STREAM_H_
