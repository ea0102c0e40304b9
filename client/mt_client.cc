// mt-client: the command-line client of the mt training daemon (//server).
//
//   mt-client submit mnist --epochs 3 --follow
//   mt-client logs JOB -f
//   mt-client --help
//
// Parsing, formatting, reassembly and pictures live in small libraries beside this file and are
// unit-tested; this file is the thin layer that makes the RPCs and writes to the terminal.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/activations.h"
#include "client/args.h"
#include "client/connection.h"
#include "client/event_stream.h"
#include "client/file_download.h"
#include "client/format.h"
#include "client/metrics_command.h"
#include "client/image_input.h"
#include "client/input_view.h"
#include "client/list_table.h"
#include "client/progress_line.h"
#include "client/terminal.h"
#include "common/version.h"
#include "client/workers.h"
#include "grpcpp/grpcpp.h"
#include "nlohmann/json.hpp"
#include "proto/training.grpc.pb.h"
#include "proto/training.pb.h"

namespace mt::client {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Most calls answer at once; these may load a checkpoint and a dataset, or (cancel) wait for the
// running batch to finish.
constexpr seconds kQuickDeadline(30);
constexpr seconds kSlowDeadline(300);
constexpr int64_t kMaxImageBytes = 16 << 20;
// --tls-ca and --token-file: a CA bundle is a few hundred KiB at most, a token far less.
constexpr int64_t kMaxSecretFileBytes = 4 << 20;

// ---------------------------------------------------------------------------------------------
// Terminal output. Everything goes through here so that the progress bar is erased before any
// other line lands on the same terminal row.

class Console {
 public:
  static void Out(const std::string& line) {
    ClearBar();
    Write(stdout, line + "\n");
  }
  // Text that already ends in a newline (tables, help).
  static void OutBlock(const std::string& text) {
    ClearBar();
    Write(stdout, text);
  }
  static void Err(const std::string& message) {
    ClearBar();
    Write(stderr, "mt-client: " + message + "\n");
  }
  static void Bar(const std::string& text) {
    Write(stdout, "\r\033[K" + text);
    bar_shown_ = true;
  }
  static void ClearBar() {
    if (!bar_shown_) return;
    bar_shown_ = false;
    Write(stdout, "\r\033[K");
  }

 private:
  static void Write(std::FILE* f, const std::string& s) {
    std::fwrite(s.data(), 1, s.size(), f);
    // `mt-client logs -f | head` must end when head does, even though gRPC ignores SIGPIPE.
    if (std::fflush(f) != 0 && f == stdout) std::_Exit(errno == EPIPE ? 141 : 1);
  }
  static inline bool bar_shown_ = false;
};

int Fail(const std::string& message) {
  Console::Err(message);
  return 1;
}

// ---------------------------------------------------------------------------------------------
// Ctrl-C. SIGINT is blocked in every thread and taken by one thread with sigwait, so no work
// happens in a signal handler. Outside a follow or a download it ends the process at once;
// inside one it cancels the running call so the command can clean up and say how to reattach.

class Interrupts {
 public:
  // Before any other thread exists, so that gRPC's threads inherit the blocked mask.
  static void Install() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::thread([set] {
      for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0) continue;
        std::unique_lock<std::mutex> lock(mu_);
        if (scopes_ == 0 || interrupted_) std::_Exit(130);  // a second Ctrl-C never waits
        interrupted_ = true;
        if (context_ != nullptr) context_->TryCancel();
        cv_.notify_all();
      }
    }).detach();
  }

  // While one lives, Ctrl-C is the caller's to handle (see interrupted()).
  class Scope {
   public:
    Scope() {
      std::lock_guard<std::mutex> lock(mu_);
      ++scopes_;
    }
    ~Scope() {
      std::lock_guard<std::mutex> lock(mu_);
      --scopes_;
    }
  };

  // While one lives, Ctrl-C cancels `context`.
  class CancelOnInterrupt {
   public:
    explicit CancelOnInterrupt(grpc::ClientContext* context) {
      std::lock_guard<std::mutex> lock(mu_);
      context_ = context;
      if (interrupted_) context->TryCancel();
    }
    ~CancelOnInterrupt() {
      std::lock_guard<std::mutex> lock(mu_);
      context_ = nullptr;
    }
  };

  static bool interrupted() {
    std::lock_guard<std::mutex> lock(mu_);
    return interrupted_;
  }

  // Sleeps, waking early on Ctrl-C; false if interrupted.
  static bool Sleep(milliseconds duration) {
    std::unique_lock<std::mutex> lock(mu_);
    return !cv_.wait_for(lock, duration, [] { return interrupted_; });
  }

 private:
  static inline std::mutex mu_;
  static inline std::condition_variable cv_;
  static inline int scopes_ = 0;
  static inline bool interrupted_ = false;
  static inline grpc::ClientContext* context_ = nullptr;
};

// ---------------------------------------------------------------------------------------------

// `bazel run` starts us in the runfiles tree; paths the user typed are relative to where they
// typed them.
std::string UserPath(const std::string& p) {
  if (p.empty() || p[0] == '/') return p;
  if (const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY"); cwd && *cwd) {
    return absl::StrCat(cwd, "/", p);
  }
  return p;
}

std::string AbsolutePath(const std::string& p) {
  std::string user = UserPath(p);
  if (user.empty() || user[0] == '/') return user;
  char buf[4096];
  if (::getcwd(buf, sizeof(buf)) == nullptr) return user;
  return absl::StrCat(buf, "/", user);
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Reads at most `max_bytes` of a file the user named: a wrong path (a device, /dev/zero, a huge
// file) is refused with a message instead of growing without bound.
absl::StatusOr<std::string> ReadBoundedFile(const std::string& path, int64_t max_bytes) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  std::string bytes;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) {
    bytes.append(buf, n);
    if (static_cast<int64_t>(bytes.size()) > max_bytes) break;
  }
  std::fclose(f);
  if (static_cast<int64_t>(bytes.size()) > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is larger than ", FormatBytes(max_bytes)));
  }
  return bytes;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

InputEcho EchoOf(const v1::PredictResponse& r) {
  return {{r.input_shape().begin(), r.input_shape().end()},
          {r.input_values().begin(), r.input_values().end()},
          {r.input_tokens().begin(), r.input_tokens().end()}};
}

InputEcho EchoOf(const v1::ActivationChunk& c) {
  return {{c.input_shape().begin(), c.input_shape().end()},
          {c.input_values().begin(), c.input_values().end()},
          {c.input_tokens().begin(), c.input_tokens().end()}};
}

class Client {
 public:
  Client(const Args& args, const Connection& connection) : args_(args) {
    grpc::ChannelArguments channel_args;
    channel_args.SetMaxReceiveMessageSize(kMaxMessageBytes);
    channel_args.SetMaxSendMessageSize(kMaxMessageBytes);
    // gRPC's own reconnect backoff grows to 2 minutes, longer than a follow keeps trying after
    // the daemon restarts; keep it short so a restarted daemon is found within a second or two.
    channel_args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 250);
    channel_args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 250);
    channel_args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
    stub_ = v1::TrainingService::NewStub(OpenChannel(connection, channel_args));
    tty_ = !args.json && IsSmartTerminal(STDOUT_FILENO);
  }

  int Run() {
    switch (args_.command) {
      case Command::kSubmit:
        return Submit();
      case Command::kLogs:
        return Watch(args_.job_id, 1, args_.from_epoch, args_.follow, false);
      case Command::kList:
        return List();
      case Command::kStatus:
        return Status();
      case Command::kCancel:
        return Cancel();
      case Command::kResume:
        return Resume();
      case Command::kActivations:
        return Activations();
      case Command::kPredict:
        return Predict();
      case Command::kExport:
        return Export();
      case Command::kDevices:
        return Devices();
      case Command::kDelete:
        return Delete();
      case Command::kPrune:
        return Prune();
      case Command::kHelp:
      case Command::kVersion:
        break;
    }
    return 2;
  }

 private:
  std::string RpcError(const grpc::Status& s) const {
    return mt::client::RpcErrorText(s, args_.server, !args_.tls_ca.empty());
  }

  static void SetDeadline(grpc::ClientContext* context, seconds timeout) {
    context->set_deadline(std::chrono::system_clock::now() + timeout);
  }

  // `mt-client logs JOB -f`, with --server when the user needed it to reach this daemon.
  std::string ReattachCommand(const std::string& job_id) const {
    std::string cmd = absl::StrCat("mt-client logs ", job_id, " -f");
    if (args_.server_from_flag) absl::StrAppend(&cmd, " --server ", args_.server);
    return cmd;
  }

  absl::StatusOr<v1::Job> GetJob(const std::string& job_id, seconds timeout) {
    grpc::ClientContext context;
    SetDeadline(&context, timeout);
    v1::GetJobRequest req;
    req.set_job_id(job_id);
    v1::Job job;
    grpc::Status s = stub_->GetJob(&context, req, &job);
    if (!s.ok()) return absl::UnavailableError(RpcError(s));
    return job;
  }

  void ShowEvent(const v1::JobEvent& e) {
    if (args_.json) {
      // Progress is a terminal nicety; scripts get the persisted state and epoch events.
      if (!e.has_progress()) Console::Out(ToJson(e, /*one_line=*/true));
      return;
    }
    if (e.has_progress()) {
      // A late progress event of an epoch already printed would leave a stale bar behind.
      // The width is asked each time: the window may have been resized.
      if (tty_ && e.progress().epoch() > last_epoch_shown_) {
        Console::Bar(ProgressLine(ViewOf(e.progress()), TerminalWidth(STDOUT_FILENO)));
      }
      return;
    }
    std::string when = EventTime(e.unix_ms(), NowMs(), /*utc=*/false);
    if (!when.empty()) when += " ";
    if (e.has_epoch()) {
      last_epoch_shown_ = e.epoch().epoch();
      Console::Out(when + EpochLine(e.epoch()) + WorkersNote(e.epoch().world_size()));
    } else if (e.has_state()) {
      Console::Out(when + StateLine(e.state()));
    }
  }

  // WatchJob from `from_seq`; with `follow`, until the job ends, reconnecting (and resuming at the
  // next unseen seq) when the stream breaks. `reached_daemon`: whether the daemon has answered
  // already in this command, i.e. whether a first UNAVAILABLE means "not running" (fail at once)
  // or "went away" (reconnect).
  int Watch(const std::string& job_id, int64_t from_seq, int64_t from_epoch, bool follow,
            bool reached_daemon) {
    Interrupts::Scope catch_ctrl_c;
    EventFilter filter(from_epoch, from_seq);
    Backoff backoff;
    for (;;) {
      std::optional<v1::JobEvent> terminal;
      grpc::Status status;
      {
        grpc::ClientContext context;
        if (!follow) SetDeadline(&context, kSlowDeadline);
        Interrupts::CancelOnInterrupt cancel(&context);
        v1::WatchJobRequest req;
        req.set_job_id(job_id);
        req.set_from_seq(filter.next_seq());
        req.set_follow(follow);
        std::unique_ptr<grpc::ClientReader<v1::JobEvent>> reader = stub_->WatchJob(&context, req);
        v1::JobEvent event;
        while (reader->Read(&event)) {
          reached_daemon = true;
          if (backoff.lost()) {
            Console::Err("reconnected");
            backoff.Reset();
          }
          for (const v1::JobEvent& e : filter.Accept(event)) ShowEvent(e);
          // The terminal event is the stream's last; keep reading so Finish() sees its end.
          if (event.terminal()) terminal = event;
        }
        status = reader->Finish();
      }
      if (Interrupts::interrupted()) {
        Console::Err(absl::StrCat("stopped following job ", job_id,
                                  " (it goes on): reattach with `", ReattachCommand(job_id),
                                  "`, stop it with `mt-client cancel ", job_id, "`"));
        return 130;
      }
      if (terminal.has_value()) {
        std::optional<int> code = Finished(job_id, *terminal, filter, follow);
        if (code.has_value()) return *code;
        if (!follow) return 0;
        // The daemon is shutting down; the job is not over. Wait for it to come back.
      } else if (!follow) {
        Console::ClearBar();
        return status.ok() ? 0 : Fail(RpcError(status));
      } else if (!status.ok() &&
                 (!IsRetryableStreamError(status.error_code()) || !reached_daemon)) {
        return Fail(RpcError(status));
      }
      if (!backoff.lost()) Console::Err("connection lost, reconnecting\u2026");
      std::optional<milliseconds> delay = backoff.Next(std::chrono::steady_clock::now());
      if (!delay.has_value()) {
        return Fail(absl::StrCat("lost the connection to the mt daemon at ", args_.server,
                                 " and could not reconnect for 60 s; reattach later with `",
                                 ReattachCommand(job_id), "`"));
      }
      if (!Interrupts::Sleep(*delay)) continue;  // reported at the top of the next round
    }
  }

  // After a terminal event: prints the outcome and returns the exit status, or nullopt when the
  // event only said that the daemon is going away while the job is still to run.
  std::optional<int> Finished(const std::string& job_id, const v1::JobEvent& terminal,
                              const EventFilter& filter, bool follow) {
    v1::JobState state =
        terminal.has_state() ? terminal.state().state() : v1::JOB_STATE_UNSPECIFIED;
    absl::StatusOr<v1::Job> job = GetJob(job_id, seconds(10));
    if (!IsFinalState(state) && job.ok()) state = job->state();
    if (!IsFinalState(state)) return std::nullopt;
    Console::ClearBar();
    if (!args_.json) {
      if (job.ok() && job->best_epoch() > 0) {
        Console::Out(FinalLine(state, job->best_valid_accuracy(), job->best_epoch()));
      } else {
        Console::Out(FinalLine(state, filter.best_valid_accuracy(), filter.best_epoch()));
      }
    }
    if (!follow || state == v1::SUCCEEDED) return 0;
    std::string why;
    if (job.ok() && !job->error().empty()) {
      why = job->error();
    } else if (terminal.has_state()) {
      why = terminal.state().message();
    }
    switch (state) {
      case v1::FAILED:
        Console::Err(absl::StrCat("job ", job_id, " FAILED", why.empty() ? "" : ": ", why));
        break;
      case v1::CANCELLED:
        Console::Err(absl::StrCat("job ", job_id, " was CANCELLED; continue it with ",
                                  "`mt-client resume ", job_id, "`"));
        break;
      default:
        Console::Err(absl::StrCat("job ", job_id, " was INTERRUPTED (the daemon stopped); ",
                                  "continue it with `mt-client resume ", job_id, "`"));
    }
    return 1;
  }

  int Submit() {
    v1::SubmitJobRequest req;
    *req.mutable_spec() = args_.spec;
    if (!args_.spec.embeddings_file().empty()) {
      req.mutable_spec()->set_embeddings_file(AbsolutePath(args_.spec.embeddings_file()));
    }
    grpc::ClientContext context;
    SetDeadline(&context, kQuickDeadline);
    v1::Job job;
    grpc::Status s = stub_->SubmitJob(&context, req, &job);
    if (!s.ok()) return Fail(RpcError(s));
    if (args_.json) {
      Console::Out(ToJson(job, /*one_line=*/args_.follow));
    } else {
      std::string line = absl::StrCat("Submitted job ", job.id(), " (", job.spec().task(), ", ",
                                      job.spec().model(), ", ", job.spec().epochs(),
                                      job.spec().epochs() == 1 ? " epoch) on " : " epochs) on ",
                                      job.device(), WorkersNote(job.world_size()), ": ",
                                      StateName(job.state()));
      if (!job.waiting_reason().empty()) absl::StrAppend(&line, " (", job.waiting_reason(), ")");
      Console::Out(line);
      if (!args_.follow) Console::Out(absl::StrCat("Follow it with: ", ReattachCommand(job.id())));
    }
    if (!args_.follow) return 0;
    return Watch(job.id(), 1, 0, /*follow=*/true, /*reached_daemon=*/true);
  }

  int List() {
    v1::ListJobsRequest req;
    req.set_state(args_.state_filter);
    v1::ListJobsResponse resp;
    // The daemon answers in pages; follow them to the end (bounded, in case a daemon kept
    // returning a token).
    for (int pages = 0; pages < 100000; ++pages) {
      grpc::ClientContext context;
      SetDeadline(&context, kQuickDeadline);
      v1::ListJobsResponse page;
      grpc::Status s = stub_->ListJobs(&context, req, &page);
      if (!s.ok()) return Fail(RpcError(s));
      for (v1::Job& j : *page.mutable_jobs()) *resp.add_jobs() = std::move(j);
      if (page.next_page_token().empty()) break;
      req.set_page_token(page.next_page_token());
    }
    if (args_.json) {
      Console::Out(ToJson(resp, false));
    } else if (resp.jobs().empty()) {
      Console::Out(args_.state_filter == v1::JOB_STATE_UNSPECIFIED
                       ? "No jobs."
                       : absl::StrCat("No ", StateName(args_.state_filter), " jobs."));
    } else if (args_.wide) {
      Console::OutBlock(JobsTable({resp.jobs().begin(), resp.jobs().end()}, /*utc=*/false));
    } else {
      // A pipe or file gets the width of $COLUMNS, else 80.
      Console::OutBlock(JobsListTable({resp.jobs().begin(), resp.jobs().end()}, NowMs(),
                                      static_cast<size_t>(TerminalWidth(STDOUT_FILENO)),
                                      /*utc=*/false));
    }
    return 0;
  }

  int Status() {
    absl::StatusOr<v1::Job> job = GetJob(args_.job_id, kQuickDeadline);
    if (!job.ok()) return Fail(std::string(job.status().message()));
    Console::OutBlock(args_.json ? ToJson(*job, false) + "\n" : JobDetails(*job, /*utc=*/false));
    if (!args_.json && job->world_size() > 1) Console::Out(WorkersDetail(*job));
    return 0;
  }

  int Cancel() {
    grpc::ClientContext context;
    SetDeadline(&context, kSlowDeadline);
    v1::CancelJobRequest req;
    req.set_job_id(args_.job_id);
    v1::Job job;
    grpc::Status s = stub_->CancelJob(&context, req, &job);
    if (!s.ok()) return Fail(RpcError(s));
    if (args_.json) {
      Console::Out(ToJson(job, false));
    } else if (job.state() == v1::CANCELLED) {
      Console::Out(absl::StrCat("Job ", job.id(), " is CANCELLED after ", job.epochs_done(),
                                " epoch(s); continue it with `mt-client resume ", job.id(), "`"));
    } else {
      Console::Out(
          absl::StrCat("Job ", job.id(), " is ", StateName(job.state()), ": nothing to cancel"));
    }
    return 0;
  }

  int Resume() {
    // Following from the job's newest event before the resume shows exactly what the resume
    // brings, not the history again.
    int64_t from_seq = 1;
    if (args_.follow) {
      absl::StatusOr<v1::Job> before = GetJob(args_.job_id, kQuickDeadline);
      if (!before.ok()) return Fail(std::string(before.status().message()));
      from_seq = before->last_seq() + 1;
    }
    grpc::ClientContext context;
    SetDeadline(&context, kQuickDeadline);
    v1::ResumeJobRequest req;
    req.set_job_id(args_.job_id);
    v1::Job job;
    grpc::Status s = stub_->ResumeJob(&context, req, &job);
    if (!s.ok()) return Fail(RpcError(s));
    if (args_.json) {
      Console::Out(ToJson(job, /*one_line=*/args_.follow));
    } else {
      std::string line =
          absl::StrCat("Resumed job ", job.id(), ": ", StateName(job.state()), " on ", job.device(),
                       ", continuing after epoch ", job.epochs_done(), " of ", job.spec().epochs());
      if (!job.waiting_reason().empty()) absl::StrAppend(&line, " (", job.waiting_reason(), ")");
      Console::Out(line);
    }
    if (!args_.follow) return 0;
    return Watch(job.id(), from_seq, 0, /*follow=*/true, /*reached_daemon=*/true);
  }

  // Sets the request's input oneof from --index / --image / --text, and its checkpoint from
  // --epoch. An --image is made 28x28 grayscale here (image_input.h) and kept in image_ to be
  // shown and saved.
  template <typename Request>
  absl::Status SetInput(Request* req) {
    req->set_job_id(args_.job_id);
    req->set_epoch(args_.epoch);
    req->set_best_epoch(args_.best_epoch);
    switch (args_.input.kind) {
      case InputArg::Kind::kIndex:
        req->set_valid_index(args_.input.index);
        break;
      case InputArg::Kind::kImage: {
        const std::string path = UserPath(args_.input.image_path);
        absl::StatusOr<std::string> bytes = ReadBoundedFile(path, kMaxImageBytes);
        if (!bytes.ok()) return bytes.status();
        absl::StatusOr<PreparedImage> prepared =
            PrepareDigitImage(*bytes, args_.input.image_path, args_.input.invert);
        if (!prepared.ok()) return prepared.status();
        if (std::string hint = BackgroundHint(*prepared, args_.input.invert); !hint.empty()) {
          Console::Err(hint);
        }
        req->set_image_png(prepared->png);
        image_ = std::move(prepared->image);
        break;
      }
      case InputArg::Kind::kText:
        req->set_text(args_.input.text);
        break;
      case InputArg::Kind::kNone:
        return absl::InvalidArgumentError("no input given");
    }
    return absl::OkStatus();
  }

  int Predict() {
    v1::PredictRequest req;
    if (absl::Status s = SetInput(&req); !s.ok()) return Fail(std::string(s.message()));
    grpc::ClientContext context;
    SetDeadline(&context, kSlowDeadline);
    v1::PredictResponse resp;
    grpc::Status s = stub_->Predict(&context, req, &resp);
    if (!s.ok()) return Fail(RpcError(s));
    absl::StatusOr<std::string> saved = SaveInputIfAsked(EchoOf(resp));
    if (!saved.ok()) return Fail(std::string(saved.status().message()));
    if (args_.json) {
      Console::OutBlock(ToJson(resp, false) + "\n");
      return 0;
    }
    ShowInput(EchoOf(resp));
    Console::OutBlock(PredictionText(resp));
    if (!saved->empty()) Console::Out(absl::StrCat("input saved to ", *saved));
    return 0;
  }

  // The input as the model saw it: the picture prepared here (--image), else the daemon's echo.
  void ShowInput(const InputEcho& echo) {
    if (image_.has_value()) {
      Console::OutBlock(AsciiPicture(*image_));
    } else if (!echo.tokens.empty()) {
      Console::Out(TokensLine(echo.tokens));
    } else if (absl::StatusOr<io::GrayImage> img = EchoImage(echo); img.ok()) {
      Console::OutBlock(AsciiPicture(*img));
    }
  }

  // With --out: DIR/input.png or DIR/input.txt; the path, or "" when nothing was written.
  absl::StatusOr<std::string> SaveInputIfAsked(const InputEcho& echo) {
    if (args_.out.empty()) return std::string();
    const std::string dir = UserPath(args_.out);
    if (image_.has_value()) return SaveInputImage(dir, *image_);
    return SaveInput(dir, echo);
  }

  int Activations() {
    v1::ActivationsRequest req;
    if (absl::Status s = SetInput(&req); !s.ok()) return Fail(std::string(s.message()));
    Interrupts::Scope catch_ctrl_c;
    ActivationAssembler assembler;
    InputEcho echo;
    absl::Status assembled;
    grpc::Status status;
    {
      grpc::ClientContext context;
      SetDeadline(&context, kSlowDeadline);
      Interrupts::CancelOnInterrupt cancel(&context);
      auto reader = stub_->GetActivations(&context, req);
      v1::ActivationChunk chunk;
      while (reader->Read(&chunk)) {
        // The first chunk carries the input; the assembler bounds everything else.
        if (echo.values.empty() && echo.tokens.empty()) echo = EchoOf(chunk);
        if (assembled.ok()) assembled = assembler.Add(chunk);
        if (!assembled.ok()) context.TryCancel();
      }
      status = reader->Finish();
    }
    if (Interrupts::interrupted()) {
      Console::Err("interrupted; nothing written");
      return 130;
    }
    if (!assembled.ok()) return Fail(std::string(assembled.message()));
    if (!status.ok()) return Fail(RpcError(status));
    absl::StatusOr<std::vector<LayerTensor>> layers = assembler.Finish();
    if (!layers.ok()) return Fail(std::string(layers.status().message()));
    if (layers->empty()) return Fail("the daemon sent no layers");

    const std::string dir = UserPath(args_.out);
    absl::StatusOr<std::vector<WrittenLayer>> written = WriteActivationFiles(dir, *layers);
    if (!written.ok()) return Fail(std::string(written.status().message()));
    for (const WrittenLayer& w : *written) {
      if (!w.warning.empty()) Console::Err(w.warning);
    }
    absl::StatusOr<std::string> input_file = SaveInputIfAsked(echo);
    if (!input_file.ok()) return Fail(std::string(input_file.status().message()));
    if (args_.json) {
      nlohmann::json doc = {{"job_id", args_.job_id}, {"label", assembler.label()}};
      if (!input_file->empty()) doc["input_file"] = *input_file;
      doc["layers"] = nlohmann::json::array();
      for (const WrittenLayer& w : *written) {
        doc["layers"].push_back({{"layer", w.layer}, {"shape", w.shape}, {"files", w.paths}});
      }
      Console::Out(doc.dump(2));
      return 0;
    }
    std::vector<std::vector<std::string>> rows;
    for (const WrittenLayer& w : *written) {
      rows.push_back({w.layer, absl::StrCat("[", absl::StrJoin(w.shape, ", "), "]"),
                      absl::StrJoin(w.paths, " ")});
    }
    ShowInput(echo);
    if (assembler.label() >= 0) Console::Out(absl::StrCat("true label: ", assembler.label()));
    if (!input_file->empty()) rows.insert(rows.begin(), {"input", "", *input_file});
    Console::OutBlock(Table({"LAYER", "SHAPE", "FILES"}, rows));
    return 0;
  }

  int Export() {
    std::string path = UserPath(args_.out);
    if (IsDirectory(path)) path = absl::StrCat(path, "/", args_.job_id, ".safetensors");
    absl::StatusOr<std::unique_ptr<FileDownload>> download = FileDownload::Start(path);
    if (!download.ok()) return Fail(std::string(download.status().message()));

    Interrupts::Scope catch_ctrl_c;
    absl::Status written;
    grpc::Status status;
    {
      grpc::ClientContext context;
      SetDeadline(&context, kSlowDeadline);
      Interrupts::CancelOnInterrupt cancel(&context);
      v1::ExportModelRequest req;
      req.set_job_id(args_.job_id);
      req.set_epoch(args_.epoch);
      req.set_best_epoch(args_.best_epoch);
      auto reader = stub_->ExportModel(&context, req);
      v1::FileChunk chunk;
      while (reader->Read(&chunk)) {
        if (written.ok()) written = (*download)->Add(chunk);
        if (!written.ok()) context.TryCancel();
      }
      status = reader->Finish();
    }
    // Every early return below drops `download`, which deletes the partial file.
    if (Interrupts::interrupted()) {
      Console::Err("interrupted; nothing written");
      return 130;
    }
    if (!written.ok()) return Fail(std::string(written.message()));
    if (!status.ok()) return Fail(RpcError(status));
    absl::StatusOr<int64_t> size = (*download)->Commit();
    if (!size.ok()) return Fail(std::string(size.status().message()));
    if (args_.json) {
      Console::Out(nlohmann::json({{"path", path}, {"size_bytes", *size}}).dump(2));
    } else {
      Console::Out(absl::StrCat("Wrote ", path, " (", FormatBytes(*size), ", ", *size, " bytes)"));
    }
    return 0;
  }

  int Devices() {
    grpc::ClientContext context;
    SetDeadline(&context, kQuickDeadline);
    v1::ListDevicesResponse resp;
    grpc::Status s = stub_->ListDevices(&context, v1::ListDevicesRequest(), &resp);
    if (!s.ok()) return Fail(RpcError(s));
    if (args_.json) {
      Console::Out(ToJson(resp, false));
    } else if (resp.devices().empty()) {
      Console::Out("No devices.");
    } else {
      Console::OutBlock(DevicesTable({resp.devices().begin(), resp.devices().end()}));
    }
    return 0;
  }

  int Delete() {
    grpc::ClientContext context;
    SetDeadline(&context, kSlowDeadline);
    v1::DeleteJobRequest req;
    req.set_job_id(args_.job_id);
    v1::DeleteJobResponse resp;
    grpc::Status s = stub_->DeleteJob(&context, req, &resp);
    if (!s.ok()) return Fail(RpcError(s));
    Console::Out(args_.json ? ToJson(resp, false) : DeletedLine(resp));
    return 0;
  }

  // Without --yes, a dry run: the daemon says which jobs would go, and nothing is deleted.
  int Prune() {
    grpc::ClientContext context;
    SetDeadline(&context, kSlowDeadline);
    v1::PruneJobsRequest req;
    req.set_older_than_seconds(args_.prune_all ? 0 : args_.older_than_seconds);
    req.set_dry_run(!args_.yes);
    v1::PruneJobsResponse resp;
    grpc::Status s = stub_->PruneJobs(&context, req, &resp);
    if (!s.ok()) return Fail(RpcError(s));
    if (args_.json) {
      Console::Out(ToJson(resp, false));
      return 0;
    }
    std::string again = absl::StrCat(
        "mt-client prune ",
        args_.prune_all ? std::string("--all") : absl::StrCat("--older-than ", args_.older_than),
        " --yes");
    if (args_.server_from_flag) absl::StrAppend(&again, " --server ", args_.server);
    Console::OutBlock(PruneText(resp, !args_.yes, again));
    return 0;
  }

  const Args& args_;
  std::optional<io::GrayImage> image_;  // --image, as prepared and sent
  std::unique_ptr<v1::TrainingService::Stub> stub_;
  bool tty_ = false;
  int64_t last_epoch_shown_ = 0;
};

}  // namespace
}  // namespace mt::client

int main(int argc, char** argv) {
  using mt::client::Args;
  using mt::client::Command;
  mt::client::Interrupts::Install();

  std::vector<std::string> arguments(argv + 1, argv + argc);
  const mt::client::MetricsCommand metrics = mt::client::TakeMetricsCommand(&arguments);
  if (arguments.empty()) {
    std::fputs(mt::client::UsageText().c_str(), stderr);
    return 2;
  }
  // submit --workers N (client/workers.h), taken out before the common parser.
  absl::StatusOr<int32_t> workers = mt::client::TakeWorkersFlag(&arguments);
  if (!workers.ok()) {
    std::fprintf(stderr, "mt-client: %s\n", std::string(workers.status().message()).c_str());
    return 2;
  }
  const char* env_server = std::getenv("MT_SERVER");
  absl::StatusOr<Args> args =
      mt::client::ParseArgs(arguments, env_server != nullptr ? env_server : "");
  if (!args.ok()) {
    std::fprintf(stderr, "mt-client: %s\n%s", std::string(args.status().message()).c_str(),
                 mt::client::UsageHint(arguments).c_str());
    return 2;
  }
  if (args->command == Command::kVersion) {
    std::printf("mt-client %s\n", mt::kVersion);
    return 0;
  }
  if (*workers > 0) args->spec.set_workers(*workers);
  if (args->command == Command::kHelp) {
    std::string text;
    if (args->help_topic.empty()) {
      text = mt::client::UsageText();
    } else {
      for (Command c : {Command::kSubmit, Command::kLogs, Command::kList, Command::kStatus,
                        Command::kCancel, Command::kResume, Command::kActivations,
                        Command::kPredict, Command::kExport, Command::kDevices,
                        Command::kDelete, Command::kPrune}) {
        if (args->help_topic == mt::client::CommandName(c)) text = mt::client::CommandHelp(c);
      }
    }
    std::fputs(text.c_str(), stdout);
    return 0;
  }
  // Secrets are read here, not in ParseArgs (which does no I/O).
  mt::client::Connection connection;
  connection.server = args->server;
  auto read = [](const std::string& flag, const std::string& path,
                 std::string* out) -> bool {
    absl::StatusOr<std::string> text = mt::client::ReadBoundedFile(
        mt::client::UserPath(path), mt::client::kMaxSecretFileBytes);
    if (!text.ok()) {
      std::fprintf(stderr, "mt-client: %s: %s\n", flag.c_str(),
                   std::string(text.status().message()).c_str());
      return false;
    }
    *out = std::move(*text);
    return true;
  };
  if (!args->tls_ca.empty() && !read("--tls-ca", args->tls_ca, &connection.ca_pem)) return 1;
  if (!args->token_file.empty()) {
    std::string text;
    if (!read("--token-file", args->token_file, &text)) return 1;
    connection.token = mt::client::TrimToken(text);
  } else if (const char* env = std::getenv("MT_TOKEN"); env != nullptr) {
    connection.token = mt::client::TrimToken(env);
  }
  if (!mt::client::IsSendableToken(connection.token)) {
    std::fprintf(stderr,
                 "mt-client: the token (from --token-file or MT_TOKEN) must be one line of "
                 "printable ASCII without spaces, as scripts/mt-token.sh prints it\n");
    return 1;
  }
  // A token sent in plain text to another machine can be read on the way: refuse before
  // connecting (the daemon, too, refuses such an address without TLS).
  if (!connection.token.empty() && connection.ca_pem.empty() &&
      !mt::client::IsLoopbackTarget(connection.server)) {
    std::fprintf(stderr,
                 "mt-client: not sending a token without TLS to %s: pass --tls-ca CA.pem (the "
                 "CA that signed the daemon's certificate)\n",
                 connection.server.c_str());
    return 1;
  }
  if (metrics.active) return mt::client::RunMetrics(*args, connection, metrics.csv);
  mt::client::Client client(*args, connection);
  return client.Run();
}
