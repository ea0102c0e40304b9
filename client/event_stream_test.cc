#include "client/event_stream.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "grpcpp/support/status_code_enum.h"

namespace mt::client {
namespace {

using std::chrono::milliseconds;

v1::JobEvent State(int64_t seq, v1::JobState state, bool terminal = false) {
  v1::JobEvent e;
  e.set_seq(seq);
  e.set_terminal(terminal);
  e.mutable_state()->set_state(state);
  return e;
}

v1::JobEvent Epoch(int64_t seq, int64_t epoch, double valid_accuracy = 0.5) {
  v1::JobEvent e;
  e.set_seq(seq);
  e.mutable_epoch()->set_epoch(epoch);
  e.mutable_epoch()->set_valid_accuracy(valid_accuracy);
  return e;
}

v1::JobEvent Progress(int64_t seq, int64_t epoch) {
  v1::JobEvent e;
  e.set_seq(seq);
  e.mutable_progress()->set_epoch(epoch);
  return e;
}

// "s3" for a state event with seq 3, "e5" for an epoch event with seq 5, "p" for progress.
std::string Names(const std::vector<v1::JobEvent>& events) {
  std::string out;
  for (const v1::JobEvent& e : events) {
    if (!out.empty()) out += " ";
    if (e.has_progress()) {
      out += "p";
    } else {
      out += (e.has_epoch() ? "e" : "s") + std::to_string(e.seq());
    }
  }
  return out;
}

TEST(EventFilter, PassesEverythingOnceAndTracksTheResumePoint) {
  EventFilter f;
  EXPECT_EQ(f.next_seq(), 1);
  EXPECT_EQ(Names(f.Accept(State(1, v1::QUEUED))), "s1");
  EXPECT_EQ(Names(f.Accept(State(2, v1::RUNNING))), "s2");
  EXPECT_EQ(Names(f.Accept(Progress(2, 1))), "p");
  EXPECT_EQ(Names(f.Accept(Epoch(3, 1))), "e3");
  EXPECT_EQ(f.next_seq(), 4);
  // Progress carries the last persisted seq and must not move the resume point.
  EXPECT_EQ(Names(f.Accept(Progress(3, 2))), "p");
  EXPECT_EQ(f.next_seq(), 4);
}

TEST(EventFilter, ReplayAfterReconnectIsNotShownTwice) {
  EventFilter f;
  f.Accept(State(1, v1::QUEUED));
  f.Accept(State(2, v1::RUNNING));
  f.Accept(Epoch(3, 1));
  // A daemon that replays from an earlier seq than asked for.
  EXPECT_EQ(Names(f.Accept(State(2, v1::RUNNING))), "");
  EXPECT_EQ(Names(f.Accept(Epoch(3, 1))), "");
  EXPECT_EQ(Names(f.Accept(Epoch(4, 2))), "e4");
  EXPECT_EQ(f.next_seq(), 5);
}

TEST(EventFilter, StartsAtTheGivenSeq) {
  EventFilter f(0, 7);
  EXPECT_EQ(f.next_seq(), 7);
  EXPECT_EQ(Names(f.Accept(State(6, v1::RUNNING))), "");
  EXPECT_EQ(Names(f.Accept(State(7, v1::QUEUED))), "s7");
}

TEST(EventFilter, TerminalShutdownNoticeDoesNotMoveTheResumePoint) {
  EventFilter f;
  f.Accept(State(1, v1::QUEUED));
  // "daemon shutting down": not persisted, reuses seq 1.
  EXPECT_EQ(Names(f.Accept(State(1, v1::QUEUED, /*terminal=*/true))), "s1");
  EXPECT_EQ(f.next_seq(), 2);
  // Even with a fresh seq, so a restarted daemon's real seq 2 is still asked for.
  EXPECT_EQ(Names(f.Accept(State(2, v1::QUEUED, /*terminal=*/true))), "s2");
  EXPECT_EQ(f.next_seq(), 2);
  EXPECT_EQ(Names(f.Accept(State(2, v1::INTERRUPTED))), "s2");
}

TEST(EventFilter, FromEpochStartsAtTheFirstEventOfThatEpoch) {
  EventFilter f(/*from_epoch=*/3);
  EXPECT_EQ(Names(f.Accept(State(1, v1::QUEUED))), "");
  EXPECT_EQ(Names(f.Accept(State(2, v1::RUNNING))), "");
  EXPECT_EQ(Names(f.Accept(Epoch(3, 1, 0.9))), "");
  EXPECT_EQ(Names(f.Accept(Epoch(4, 2, 0.95))), "");
  // Epoch 3's own events: held until it is clear they belong to epoch >= 3.
  EXPECT_EQ(Names(f.Accept(State(5, v1::INTERRUPTED))), "");
  EXPECT_EQ(Names(f.Accept(State(6, v1::RUNNING))), "");
  EXPECT_EQ(Names(f.Accept(Epoch(7, 3, 0.93))), "s5 s6 e7");
  EXPECT_EQ(Names(f.Accept(Epoch(8, 4, 0.94))), "e8");
  EXPECT_EQ(f.next_seq(), 9);
  // The best epoch counts hidden epochs too.
  EXPECT_EQ(f.best_epoch(), 2);
  EXPECT_DOUBLE_EQ(f.best_valid_accuracy(), 0.95);
}

TEST(EventFilter, FromEpochReleasedByLiveProgressOrTerminal) {
  EventFilter live(2);
  live.Accept(Epoch(1, 1));
  EXPECT_EQ(Names(live.Accept(State(2, v1::RUNNING))), "");
  EXPECT_EQ(Names(live.Accept(Progress(2, 1))), "");
  EXPECT_EQ(Names(live.Accept(Progress(2, 2))), "s2 p");
  EXPECT_EQ(Names(live.Accept(State(3, v1::CANCELLED, true))), "s3");

  EventFilter ended(5);
  ended.Accept(Epoch(1, 1));
  EXPECT_EQ(Names(ended.Accept(State(2, v1::FAILED))), "");
  EXPECT_EQ(Names(ended.Accept(State(3, v1::FAILED, true))), "s2 s3");
}

TEST(EventFilter, FromEpochOneShowsEverything) {
  EventFilter f(1);
  EXPECT_EQ(Names(f.Accept(State(1, v1::QUEUED))), "s1");
}

TEST(Backoff, DoublesUpToTheCapThenGivesUpAfterTheBudget) {
  Backoff b(milliseconds(250), milliseconds(1000), milliseconds(3000));
  auto t0 = Backoff::Clock::time_point();
  EXPECT_FALSE(b.lost());
  EXPECT_EQ(b.Next(t0), milliseconds(250));
  EXPECT_TRUE(b.lost());
  EXPECT_EQ(b.Next(t0 + milliseconds(250)), milliseconds(500));
  EXPECT_EQ(b.Next(t0 + milliseconds(750)), milliseconds(1000));
  EXPECT_EQ(b.Next(t0 + milliseconds(1750)), milliseconds(1000));
  // Never sleeps past the budget.
  EXPECT_EQ(b.Next(t0 + milliseconds(2750)), milliseconds(250));
  EXPECT_EQ(b.Next(t0 + milliseconds(3000)), std::nullopt);
  b.Reset();
  EXPECT_FALSE(b.lost());
  EXPECT_EQ(b.Next(t0 + milliseconds(9000)), milliseconds(250));
}

TEST(IsRetryableStreamError, TransportTroubleYesRefusalsNo) {
  for (grpc::StatusCode c :
       {grpc::StatusCode::OK, grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::UNKNOWN,
        grpc::StatusCode::INTERNAL, grpc::StatusCode::CANCELLED}) {
    EXPECT_TRUE(IsRetryableStreamError(c)) << c;
  }
  for (grpc::StatusCode c :
       {grpc::StatusCode::NOT_FOUND, grpc::StatusCode::INVALID_ARGUMENT,
        grpc::StatusCode::FAILED_PRECONDITION, grpc::StatusCode::PERMISSION_DENIED,
        grpc::StatusCode::UNIMPLEMENTED, grpc::StatusCode::RESOURCE_EXHAUSTED}) {
    EXPECT_FALSE(IsRetryableStreamError(c)) << c;
  }
}

}  // namespace
}  // namespace mt::client
