#include "client/event_stream.h"

#include <algorithm>
#include <iterator>

#include "grpcpp/support/status_code_enum.h"

namespace mt::client {

EventFilter::EventFilter(int64_t from_epoch, int64_t from_seq)
    : from_epoch_(from_epoch),
      last_seq_(std::max<int64_t>(from_seq, 1) - 1),
      released_(from_epoch <= 1) {}

std::vector<v1::JobEvent> EventFilter::Accept(const v1::JobEvent& event) {
  std::vector<v1::JobEvent> shown;
  if (event.has_progress()) {
    // Progress is live only and carries the seq of the last persisted event, so it neither
    // advances the resume point nor counts as a duplicate.
    if (!released_ && event.progress().epoch() >= from_epoch_) {
      released_ = true;
      std::move(held_.begin(), held_.end(), std::back_inserter(shown));
      held_.clear();
    }
    if (released_) shown.push_back(event);
    return shown;
  }
  if (!event.terminal()) {
    if (event.seq() <= last_seq_) return shown;  // replayed again after a reconnect
    last_seq_ = event.seq();
  }
  // A terminal event never moves the resume point: when it only announces that the daemon is
  // shutting down it may reuse a seq that the restarted daemon gives to a real event.

  if (event.has_epoch()) {
    const v1::EpochMetrics& m = event.epoch();
    if (best_epoch_ == 0 || m.valid_accuracy() > best_accuracy_) {
      best_accuracy_ = m.valid_accuracy();
      best_epoch_ = m.epoch();
    }
  }
  if (!released_) {
    if (event.terminal() || (event.has_epoch() && event.epoch().epoch() >= from_epoch_)) {
      released_ = true;
      std::move(held_.begin(), held_.end(), std::back_inserter(shown));
      held_.clear();
    } else if (event.has_epoch()) {
      held_.clear();  // everything so far belongs to epochs before --from
      return shown;
    } else {
      held_.push_back(event);
      return shown;
    }
  }
  shown.push_back(event);
  return shown;
}

Backoff::Backoff(std::chrono::milliseconds first, std::chrono::milliseconds max_delay,
                 std::chrono::milliseconds budget)
    : first_(first), max_delay_(max_delay), budget_(budget), delay_(first) {}

std::optional<std::chrono::milliseconds> Backoff::Next(Clock::time_point now) {
  if (!lost_since_) lost_since_ = now;
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - *lost_since_);
  if (elapsed >= budget_) return std::nullopt;
  std::chrono::milliseconds wait = std::min(delay_, budget_ - elapsed);
  delay_ = std::min(delay_ * 2, max_delay_);
  return wait;
}

void Backoff::Reset() {
  lost_since_.reset();
  delay_ = first_;
}

bool IsRetryableStreamError(int grpc_code) {
  switch (static_cast<grpc::StatusCode>(grpc_code)) {
    case grpc::StatusCode::OK:  // the stream ended without its terminal event
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::CANCELLED:  // by the daemon while it shut down
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::UNKNOWN:   // e.g. "Stream removed"
    case grpc::StatusCode::INTERNAL:  // e.g. a broken HTTP/2 stream
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return true;
    default:
      return false;
  }
}

}  // namespace mt::client
