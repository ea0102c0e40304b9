// JobSpec (what a client asks for) → train::TrainConfig (what the engine runs), with the
// task's and model's defaults (from the task registry, engine/tasks) filled in.
// train::Validate stays the one place that says which values are allowed; this adds what only
// the daemon knows (devices, files on its machine).
#ifndef MT_SERVER_JOB_SPEC_H_
#define MT_SERVER_JOB_SPEC_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/train/config.h"
#include "proto/training.pb.h"

namespace mt::server {

struct ResolvedSpec {
  v1::JobSpec spec;            // every default filled in (device resolved, threads > 0, ...)
  train::TrainConfig config;   // data_dir left empty: the daemon's, set when the job runs
};

// `devices`: the names jobs may use (e.g. {"cpu"}); "" and "auto" pick the first.
// `default_threads`: what threads = 0 becomes.
// `embeddings_dir`: embeddings_file must resolve (symlinks and ".." followed) to a regular file
// inside it; a relative embeddings_file is taken relative to it. "" = not confined (any
// existing file, made absolute; for local tools and tests: the daemon always passes its
// --embeddings_dir or data dir).
// InvalidArgument naming the field, the value (briefly) and what is allowed.
absl::StatusOr<ResolvedSpec> ResolveSpec(const v1::JobSpec& spec,
                                         const std::vector<std::string>& devices,
                                         int default_threads,
                                         const std::string& embeddings_dir = "");

// The canonical path of `requested` if it names a regular file inside `dir` (after following
// every symlink and ".."), else InvalidArgument for `field` that does not reveal whether a file
// outside `dir` exists.
absl::StatusOr<std::string> ConfinedFile(const std::string& field, const std::string& requested,
                                         const std::string& dir);

// The config of a spec that ResolveSpec already filled (e.g. one read back from the database).
train::TrainConfig ConfigFromResolvedSpec(const v1::JobSpec& spec);

}  // namespace mt::server

#endif  // MT_SERVER_JOB_SPEC_H_
