// JobSpec.workers: how many data-parallel worker processes a job runs as, bounded by what the
// daemon allows, and the threads each gets.
#ifndef MT_SERVER_WORKER_SPEC_H_
#define MT_SERVER_WORKER_SPEC_H_

#include "absl/status/status.h"
#include "proto/training.pb.h"
#include "server/job_spec.h"

namespace mt::server {

// Fills resolved->spec.workers (0 → 1) after ResolveSpec. InvalidArgument naming the field when
// workers is outside [1, max_workers] (saying the daemon's --max_workers) or train_size does not
// split evenly over them. When the client left threads at 0, each worker of a multi-worker job
// gets default_threads / workers (at least 1) instead of every core, so the workers share the
// machine rather than oversubscribe it.
absl::Status ResolveWorkers(const v1::JobSpec& requested, int max_workers, int default_threads,
                            ResolvedSpec* resolved);

}  // namespace mt::server

#endif  // MT_SERVER_WORKER_SPEC_H_
