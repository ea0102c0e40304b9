#include "client/metrics_command.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/format.h"
#include "proto/training.grpc.pb.h"

namespace mt::client {
namespace {

constexpr auto kReplayTimeout = std::chrono::seconds(120);

std::string Number(double v) { return absl::StrFormat("%.17g", v); }

std::string Percent(double fraction) { return absl::StrFormat("%.2f%%", 100 * fraction); }

// The value of `tag` at `epoch`, formatted; "-" when the series has none.
std::string Cell(const MetricSeries& s, const std::string& tag, int64_t epoch,
                 std::string (*format)(double)) {
  auto it = s.series().find(tag);
  if (it == s.series().end()) return "-";
  for (const MetricPoint& p : it->second) {
    if (p.epoch == static_cast<double>(epoch)) return format(p.value);
  }
  return "-";
}

std::string Loss(double v) { return absl::StrFormat("%.4f", v); }
std::string Rate(double v) { return absl::StrFormat("%.4g", v); }
std::string Speed(double v) { return absl::StrFormat("%.0f", v); }

int Fail(const std::string& message) {
  std::fprintf(stderr, "mt-client: %s\n", message.c_str());
  return 1;
}

}  // namespace

std::string MetricsHelp() {
  return "mt-client metrics JOB [--csv]\n"
         "  Prints a job's history: per epoch the training and validation loss and accuracy,\n"
         "  the learning rate and samples/s, then the training loss every few batches (the\n"
         "  mean of the batches since the previous point; the interval doubles as a long job\n"
         "  grows). Works for running and finished jobs, and after daemon restarts.\n"
         "  --csv   one row per point: series,step,epoch,value (with a header)\n"
         "  --json  the series as one JSON object\n";
}

MetricsCommand TakeMetricsCommand(std::vector<std::string>* argv) {
  MetricsCommand m;
  // The command is the first word that is not a global flag or its value; global flags may
  // come first ("mt-client --server H:P metrics JOB").
  size_t i = 0;
  while (i < argv->size() && (*argv)[i].rfind("-", 0) == 0) {
    const std::string& flag = (*argv)[i];
    const bool takes_value = flag.find('=') == std::string::npos &&
                             (flag == "--server" || flag == "--tls-ca" || flag == "--token-file");
    i += takes_value ? 2 : 1;
  }
  if (i >= argv->size() || (*argv)[i] != "metrics") return m;
  m.active = true;
  const bool has_job = std::any_of(argv->begin() + i + 1, argv->end(), [](const std::string& a) {
    return a.rfind("-", 0) != 0;
  });
  const bool wants_help = std::any_of(argv->begin(), argv->end(), [](const std::string& a) {
    return a == "--help" || a == "-h";
  });
  if (!has_job && !wants_help) {
    // Said here: `logs`'s parser would name itself.
    std::fprintf(stderr, "mt-client: metrics needs a JOB id\n%s", MetricsHelp().c_str());
    std::exit(2);
  }
  (*argv)[i] = "logs";
  std::vector<std::string> rest;
  for (const std::string& a : *argv) {
    if (a == "--help" || a == "-h") {
      std::fputs(MetricsHelp().c_str(), stdout);
      std::exit(0);
    }
    if (a == "--csv") {
      m.csv = true;
    } else {
      rest.push_back(a);
    }
  }
  *argv = std::move(rest);
  return m;
}

std::string MetricsTables(const std::string& job_id, const MetricSeries& s) {
  std::string out;
  const size_t epochs = s.epochs().size();
  absl::StrAppend(&out, job_id, ": ", epochs, epochs == 1 ? " epoch" : " epochs", "\n");
  if (epochs > 0) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& [epoch, m] : s.epochs()) {
      rows.push_back({absl::StrCat(epoch), m.step() > 0 ? absl::StrCat(m.step()) : "-",
                      Cell(s, "epoch/train_loss", epoch, Loss),
                      Cell(s, "epoch/valid_loss", epoch, Loss),
                      Cell(s, "epoch/train_accuracy", epoch, Percent),
                      Cell(s, "epoch/valid_accuracy", epoch, Percent),
                      Cell(s, "epoch/learning_rate", epoch, Rate),
                      Cell(s, "epoch/samples_per_second", epoch, Speed)});
    }
    absl::StrAppend(&out, "\n",
                    Table({"epoch", "step", "train loss", "valid loss", "train acc", "valid acc",
                           "lr", "samples/s"},
                          rows, std::vector<Align>(8, Align::kRight)));
  }
  auto loss = s.series().find("train/loss");
  if (loss != s.series().end() && !loss->second.empty()) {
    absl::StrAppend(&out, "\ntraining loss (mean since the previous point), ", loss->second.size(),
                    loss->second.size() == 1 ? " point\n" : " points\n");
    std::vector<std::vector<std::string>> rows;
    for (const MetricPoint& p : loss->second) {
      rows.push_back({absl::StrCat(p.step), absl::StrFormat("%.2f", p.epoch), Loss(p.value)});
    }
    absl::StrAppend(&out, Table({"step", "epoch", "loss"}, rows,
                                {Align::kRight, Align::kRight, Align::kRight}));
  }
  if (epochs == 0 && loss == s.series().end()) {
    absl::StrAppend(&out, "no metrics yet: the job has not trained a batch\n");
  }
  return out;
}

std::string MetricsCsv(const MetricSeries& s) {
  std::string out = "series,step,epoch,value\n";
  for (const auto& [tag, points] : s.series()) {
    // Tags are mt's own ("epoch/valid_loss"): no commas or quotes to escape.
    for (const MetricPoint& p : points) {
      absl::StrAppend(&out, tag, ",", p.step, ",", Number(p.epoch), ",", Number(p.value), "\n");
    }
  }
  return out;
}

std::string MetricsJson(const std::string& job_id, const MetricSeries& s) {
  nlohmann::json series = nlohmann::json::object();
  for (const auto& [tag, points] : s.series()) {
    nlohmann::json list = nlohmann::json::array();
    for (const MetricPoint& p : points) {
      list.push_back({{"step", p.step}, {"epoch", p.epoch}, {"value", p.value}});
    }
    series[tag] = std::move(list);
  }
  return nlohmann::json{{"job_id", job_id}, {"series", std::move(series)}}.dump(2) + "\n";
}

int RunMetrics(const Args& args, const Connection& connection, bool csv) {
  if (args.follow || args.from_epoch != 0) {
    return Fail("mt-client metrics takes no -f or --from: it prints the whole history (use "
                "`mt-client logs JOB -f` to follow a job)");
  }
  grpc::ChannelArguments channel_args;
  channel_args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  std::unique_ptr<v1::TrainingService::Stub> stub =
      v1::TrainingService::NewStub(OpenChannel(connection, channel_args));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kReplayTimeout);
  v1::WatchJobRequest req;
  req.set_job_id(args.job_id);
  req.set_from_seq(1);
  req.set_follow(false);
  std::unique_ptr<grpc::ClientReader<v1::JobEvent>> reader = stub->WatchJob(&context, req);
  MetricSeries series;
  v1::JobEvent event;
  while (reader->Read(&event)) series.Add(event);
  grpc::Status s = reader->Finish();
  if (!s.ok()) return Fail(RpcErrorText(s, args.server, !args.tls_ca.empty()));
  const std::string text = args.json ? MetricsJson(args.job_id, series)
                           : csv     ? MetricsCsv(series)
                                     : MetricsTables(args.job_id, series);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace mt::client
