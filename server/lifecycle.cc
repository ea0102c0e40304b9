#include "server/lifecycle.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/recovery.h"

namespace mt::server {
namespace {

std::string Percent(double fraction) { return absl::StrFormat("%.2f%%", 100 * fraction); }

}  // namespace

v1::Job NewJob(const std::string& id, const v1::JobSpec& resolved_spec, int64_t now_ms) {
  v1::Job job;
  job.set_id(id);
  *job.mutable_spec() = resolved_spec;
  job.set_state(v1::QUEUED);
  job.set_device(resolved_spec.device());
  job.set_created_unix_ms(now_ms);
  job.set_updated_unix_ms(now_ms);
  job.set_last_seq(1);
  job.set_world_size(std::max(1, resolved_spec.workers()));
  return job;
}

std::string SubmittedMessage(const v1::Job& job) {
  return absl::StrCat("submitted; queued for ", job.device());
}

absl::Status CheckResumable(const v1::Job& job) {
  const std::string& id = job.id();
  switch (job.state()) {
    case v1::INTERRUPTED:
    case v1::CANCELLED:
      return absl::OkStatus();
    case v1::QUEUED:
    case v1::RUNNING:
      return absl::FailedPreconditionError(
          absl::StrCat("job ", id, " is already ", v1::JobState_Name(job.state())));
    case v1::SUCCEEDED:
      return absl::FailedPreconditionError(absl::StrCat(
          "job ", id, " has SUCCEEDED: all ", job.spec().epochs(),
          " epochs are done; submit a new job to train further"));
    case v1::FAILED:
      return absl::FailedPreconditionError(absl::StrCat(
          "job ", id, " FAILED (", job.error(),
          "); only INTERRUPTED or CANCELLED jobs can be resumed: submit a new job"));
    default:
      return absl::FailedPreconditionError(
          absl::StrCat("job ", id, " is in state ", v1::JobState_Name(job.state())));
  }
}

std::string ResumedMessage(const v1::Job& job, int64_t epoch) {
  return epoch > 0 ? absl::StrCat("resumed; queued for ", job.device(),
                                  "; continues after epoch ", epoch)
                   : absl::StrCat("resumed; queued for ", job.device(),
                                  "; no epoch had finished, so it starts from the beginning");
}

std::string RunningMessage(const std::string& device, int threads, int64_t resume_epoch) {
  const std::string where =
      absl::StrCat(device, " (", threads, threads == 1 ? " thread)" : " threads)");
  return resume_epoch > 0 ? absl::StrCat("resumed after epoch ", resume_epoch, " on ", where)
                          : absl::StrCat("running on ", where);
}

std::string CancelledWhileQueuedMessage(int64_t resume_epoch) {
  return resume_epoch > 0
             ? absl::StrCat("cancelled while queued (", CheckpointPhrase(resume_epoch), ")")
             : "cancelled while queued";
}

v1::Job EndedJob(v1::Job job, const RunOutcome& o, bool user_cancelled, bool shutting_down,
                 int64_t epoch_in_progress, std::string* message) {
  if (!o.status.ok() && o.interrupted) {
    job.set_state(v1::INTERRUPTED);
    *message = absl::StrCat(o.status.message(), " (", CheckpointPhrase(o.completed_epochs),
                            "); ResumeJob restarts every worker from there");
  } else if (!o.status.ok()) {
    job.set_state(v1::FAILED);
    job.set_error(std::string(o.status.message()));
    *message = job.error();
  } else if (o.cancelled) {
    const std::string during =
        epoch_in_progress > 0 ? absl::StrCat(" during epoch ", epoch_in_progress) : "";
    if (user_cancelled || !shutting_down) {
      job.set_state(v1::CANCELLED);
      *message =
          absl::StrCat("cancelled", during, " (", CheckpointPhrase(o.completed_epochs), ")");
    } else {
      job.set_state(v1::INTERRUPTED);
      *message = absl::StrCat("the daemon is shutting down: stopped", during, " (",
                              CheckpointPhrase(o.completed_epochs),
                              "); `mt-client resume ", job.id(), "` continues from there");
    }
  } else {
    job.set_state(v1::SUCCEEDED);
    *message = absl::StrCat("finished ", o.completed_epochs,
                            o.completed_epochs == 1 ? " epoch" : " epochs",
                            "; best valid accuracy ", Percent(o.best_valid_accuracy),
                            " at epoch ", o.best_epoch);
  }
  return job;
}

}  // namespace mt::server
