#include "client/format.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/progress_line.h"
#include "client/text.h"
#include "google/protobuf/util/json_util.h"

namespace mt::client {
namespace {

std::string Percent(double fraction) { return absl::StrFormat("%.2f%%", 100 * fraction); }

std::string OrDefault(int64_t v, const char* zero) {
  return v == 0 ? std::string(zero) : absl::StrCat(v);
}

std::string KeyValues(const std::vector<std::pair<std::string, std::string>>& kv) {
  size_t width = 0;
  for (const auto& [k, v] : kv) width = std::max(width, k.size() + 1);
  std::string out;
  for (const auto& [k, v] : kv) {
    std::string key = k + ":";
    key.resize(width, ' ');
    absl::StrAppend(&out, key, "  ", v.empty() ? "-" : v, "\n");
  }
  return out;
}

}  // namespace

std::string StateName(v1::JobState state) {
  if (state == v1::JOB_STATE_UNSPECIFIED) return "UNKNOWN";
  if (v1::JobState_IsValid(state)) return v1::JobState_Name(state);
  return absl::StrCat("UNKNOWN(", static_cast<int>(state), ")");
}

bool IsFinalState(v1::JobState state) {
  return state == v1::SUCCEEDED || state == v1::FAILED || state == v1::CANCELLED ||
         state == v1::INTERRUPTED;
}

std::string EpochLine(const v1::EpochMetrics& m) {
  return absl::StrFormat(
      "Epoch %d loss %.4f train acc %.2f%% valid acc %.2f%% (%d/%d) time %.1fs (%.0f samples/s)",
      m.epoch(), m.train_loss(), 100 * m.train_accuracy(), 100 * m.valid_accuracy(),
      m.valid_correct(), m.valid_total(), m.seconds(), m.samples_per_second());
}

std::string StateLine(const v1::StateChange& s) {
  std::string line = absl::StrCat("[state] ", StateName(s.state()));
  if (!s.message().empty()) absl::StrAppend(&line, ": ", s.message());
  return line;
}

std::string BestAccuracy(double accuracy, int64_t epoch) {
  if (epoch <= 0) return "-";
  return absl::StrCat(Percent(accuracy), " (epoch ", epoch, ")");
}

std::string FinalLine(v1::JobState state, double best_accuracy, int64_t best_epoch) {
  std::string best = best_epoch > 0 ? BestAccuracy(best_accuracy, best_epoch)
                                    : std::string("- (no epoch finished)");
  return absl::StrCat("Final state: ", StateName(state), "; best valid acc ", best);
}

std::string FormatTime(int64_t unix_ms, bool utc) {
  if (unix_ms <= 0) return "-";
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  if (utc) {
    gmtime_r(&t, &tm);
  } else {
    localtime_r(&t, &tm);
  }
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string FormatBytes(int64_t bytes) {
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  static const char* const kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int unit = -1;
  while (v >= 1024 && unit < 3) {
    v /= 1024;
    ++unit;
  }
  return absl::StrFormat("%.1f %s", v, kUnits[unit]);
}

std::string Table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows,
                  const std::vector<Align>& align) {
  std::vector<size_t> width(header.size(), 0);
  auto measure = [&width](const std::vector<std::string>& row) {
    for (size_t c = 0; c < row.size() && c < width.size(); ++c) {
      width[c] = std::max(width[c], DisplayWidth(row[c]));
    }
  };
  measure(header);
  for (const auto& row : rows) measure(row);

  std::string out;
  auto emit = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t c = 0; c < width.size(); ++c) {
      const std::string cell = c < row.size() ? row[c] : "";
      std::string pad(width[c] - DisplayWidth(cell), ' ');
      if (c > 0) line += "  ";
      bool right = c < align.size() && align[c] == Align::kRight;
      line += right ? pad + cell : cell + pad;
    }
    line.erase(line.find_last_not_of(' ') + 1);
    absl::StrAppend(&out, line, "\n");
  };
  emit(header);
  for (const auto& row : rows) emit(row);
  return out;
}

std::string JobsTable(const std::vector<v1::Job>& jobs, bool utc) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::Job& j : jobs) {
    std::string note = j.state() == v1::FAILED ? j.error() : j.waiting_reason();
    rows.push_back({j.id(), StateName(j.state()), j.spec().task(), j.spec().model(), j.device(),
                    absl::StrCat(j.epochs_done(), "/", j.spec().epochs()),
                    BestAccuracy(j.best_valid_accuracy(), j.best_epoch()),
                    FormatTime(j.created_unix_ms(), utc), Truncate(note, 60)});
  }
  return Table(
      {"ID", "STATE", "TASK", "MODEL", "DEVICE", "EPOCHS", "BEST VALID", "CREATED", "NOTE"}, rows,
      {Align::kLeft, Align::kLeft, Align::kLeft, Align::kLeft, Align::kLeft, Align::kRight,
       Align::kRight});
}

std::string DevicesTable(const std::vector<v1::Device>& devices) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::Device& d : devices) {
    rows.push_back({d.name(), d.kind(), absl::StrCat(d.running(), "/", d.max_running()),
                    absl::StrCat(d.queued()), d.cores() > 0 ? absl::StrCat(d.cores()) : "-",
                    d.memory_bytes() > 0 ? FormatBytes(d.memory_bytes()) : "-", d.description()});
  }
  return Table(
      {"NAME", "KIND", "RUNNING", "QUEUED", "CORES", "MEMORY", "DESCRIPTION"}, rows,
      {Align::kLeft, Align::kLeft, Align::kRight, Align::kRight, Align::kRight, Align::kRight});
}

std::string JobDetails(const v1::Job& job, bool utc) {
  const v1::JobSpec& s = job.spec();
  std::vector<std::pair<std::string, std::string>> kv = {
      {"id", job.id()},
  };
  if (!s.name().empty()) kv.push_back({"name", s.name()});
  kv.push_back({"state", StateName(job.state())});
  if (!job.waiting_reason().empty()) kv.push_back({"waiting", job.waiting_reason()});
  if (!job.error().empty()) kv.push_back({"error", job.error()});
  kv.insert(kv.end(),
            {
                {"device", job.device()},
                {"task", s.task()},
                {"model", s.model()},
                {"epochs", absl::StrCat(job.epochs_done(), " of ", s.epochs(), " done")},
            });
  if (job.state() == v1::RUNNING && job.has_progress()) {
    // Keys take 17 columns ("best valid acc:  "); the line fits 80.
    kv.push_back({"progress", ProgressLine(ViewOf(job.progress()), 80 - 17)});
  }
  kv.push_back({"best valid acc", BestAccuracy(job.best_valid_accuracy(), job.best_epoch())});
  if (job.has_last_epoch() && job.last_epoch().epoch() > 0) {
    kv.push_back({"last epoch", EpochLine(job.last_epoch())});
  }
  kv.insert(kv.end(), {
                          {"created", FormatTime(job.created_unix_ms(), utc)},
                          {"updated", FormatTime(job.updated_unix_ms(), utc)},
                          {"events", absl::StrCat(job.last_seq())},
                          {"batch size", OrDefault(s.batch_size(), "default")},
                          {"learning rate", absl::StrFormat("%g", s.learning_rate())},
                          {"optimizer", s.optimizer()},
                      });
  if (s.optimizer() == "sgd") {
    kv.push_back({"momentum",
                  s.momentum() < 0 ? std::string("default") : absl::StrFormat("%g", s.momentum())});
  }
  kv.insert(kv.end(), {
                          {"lr decay", s.lr_decay() == 0 ? std::string("none")
                                                         : absl::StrFormat("%g", s.lr_decay())},
                          {"train size", OrDefault(s.train_size(), "all")},
                          {"valid size", OrDefault(s.valid_size(), "all")},
                          {"seed", absl::StrCat(s.seed())},
                          {"threads", OrDefault(s.threads(), "all cores")},
                      });
  // Only tasks with word vectors accept these; the daemon fills embedding_dim in for them.
  if (s.embedding_dim() != 0 || !s.embeddings_file().empty()) {
    kv.push_back(
        {"embeddings", s.embeddings_file().empty() ? std::string("learned") : s.embeddings_file()});
    kv.push_back({"embedding dim", OrDefault(s.embedding_dim(), "default")});
  }
  return KeyValues(kv);
}

namespace {
// The classes' names when they say more than the class ids: the daemon's (class_names), or,
// from a daemon too old to send them, SST-2's for a two-class answer. Empty = ids only.
std::vector<std::string> ClassNames(const v1::PredictResponse& r) {
  std::vector<std::string> names(r.class_names().begin(), r.class_names().end());
  if (names.empty()) {
    if (r.probabilities_size() == 2) return {"negative", "positive"};
    return {};
  }
  if (static_cast<int>(names.size()) != r.probabilities_size()) return {};
  for (size_t c = 0; c < names.size(); ++c) {
    if (names[c] != absl::StrCat(c)) return names;
  }
  return {};  // e.g. digits named "0".."9": the ids already say it
}
}  // namespace

std::string PredictionText(const v1::PredictResponse& r) {
  const std::vector<std::string> names = ClassNames(r);
  const bool named = !names.empty();
  std::vector<std::vector<std::string>> rows;
  for (int c = 0; c < r.probabilities_size(); ++c) {
    double p = r.probabilities(c);
    std::string bar(static_cast<size_t>(std::lround(std::clamp(p, 0.0, 1.0) * 30)), '#');
    if (c == r.predicted_class()) absl::StrAppend(&bar, bar.empty() ? "" : "  ", "<- predicted");
    rows.push_back({named ? absl::StrCat(c, " ", names[c]) : absl::StrCat(c),
                    absl::StrFormat("%.4f", p), bar});
  }
  std::string out = Table({"CLASS", "PROBABILITY", ""}, rows,
                          {named ? Align::kLeft : Align::kRight, Align::kRight});
  absl::StrAppend(&out, "predicted class: ", r.predicted_class());
  if (named && r.predicted_class() >= 0 &&
      r.predicted_class() < static_cast<int64_t>(names.size())) {
    absl::StrAppend(&out, " (", names[r.predicted_class()], ")");
  }
  if (r.label() >= 0) {
    absl::StrAppend(&out, "; true label: ", r.label(),
                    r.label() == r.predicted_class() ? " (correct)" : " (wrong)");
  }
  if (r.checkpoint_epoch() > 0) {
    absl::StrAppend(&out, "; checkpoint of epoch ", r.checkpoint_epoch());
  }
  absl::StrAppend(&out, "\n");
  return out;
}

std::string EventTime(int64_t unix_ms, int64_t now_ms, bool utc) {
  if (unix_ms <= 0) return "";
  auto broken_down = [utc](int64_t ms) {
    std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    if (utc) {
      gmtime_r(&t, &tm);
    } else {
      localtime_r(&t, &tm);
    }
    return tm;
  };
  const std::tm when = broken_down(unix_ms);
  const std::tm now = broken_down(now_ms);
  const bool today = when.tm_year == now.tm_year && when.tm_yday == now.tm_yday;
  char buf[32];
  std::strftime(buf, sizeof(buf), today ? "%H:%M:%S" : "%m-%d %H:%M:%S", &when);
  return buf;
}

std::string DeletedLine(const v1::DeleteJobResponse& r) {
  return absl::StrCat("Deleted job ", r.job_id(), " (", FormatBytes(r.bytes_freed()),
                      " of files)");
}

std::string PruneText(const v1::PruneJobsResponse& r, bool dry_run, const std::string& again) {
  if (r.job_ids().empty()) return "No finished jobs to prune.\n";
  const int n = r.job_ids_size();
  std::string out;
  std::string ids = absl::StrJoin(r.job_ids(), " ");
  if (dry_run) {
    absl::StrAppend(&out, "Would delete ", n, n == 1 ? " job" : " jobs", " (",
                    FormatBytes(r.bytes_freed()), " of files): ", ids, "\n",
                    "Delete ", n == 1 ? "it" : "them", " with: ", again, "\n");
  } else {
    absl::StrAppend(&out, "Deleted ", n, n == 1 ? " job" : " jobs", " (",
                    FormatBytes(r.bytes_freed()), " of files): ", ids, "\n");
  }
  return out;
}

std::string ToJson(const google::protobuf::Message& message, bool one_line) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = !one_line;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(message, &out, options).ok()) {
    return "{}";  // only on invalid UTF-8 in a string field; never expected from the daemon
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace mt::client
