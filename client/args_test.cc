#include "client/args.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace mt::client {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<Args> Parse(std::vector<std::string> argv, const std::string& env = "") {
  return ParseArgs(argv, env);
}

// The message of a parse that must fail.
std::string Error(std::vector<std::string> argv) {
  absl::StatusOr<Args> a = Parse(std::move(argv));
  if (a.ok()) return "<parsed>";
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(a.status().message());
}

TEST(ParseArgs, SubmitWithEveryFlagInBothForms) {
  absl::StatusOr<Args> a =
      Parse({"submit",       "mnist",  "--model",          "lenet5",      "--epochs=3",
             "--batch-size", "64",     "--lr=0.05",        "--optimizer", "adam",
             "--train-size", "1000",   "--valid-size=500", "--seed",      "7",
             "--device",     "cuda:1", "--threads=4",      "--momentum",  "0",
             "--lr-decay",   "0.7",    "--follow"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->command, Command::kSubmit);
  const v1::JobSpec& s = a->spec;
  EXPECT_EQ(s.task(), "mnist");
  EXPECT_EQ(s.model(), "lenet5");
  EXPECT_EQ(s.epochs(), 3);
  EXPECT_EQ(s.batch_size(), 64);
  EXPECT_DOUBLE_EQ(s.learning_rate(), 0.05);
  EXPECT_EQ(s.optimizer(), "adam");
  EXPECT_EQ(s.train_size(), 1000);
  EXPECT_EQ(s.valid_size(), 500);
  EXPECT_EQ(s.seed(), 7u);
  EXPECT_EQ(s.device(), "cuda:1");
  EXPECT_EQ(s.threads(), 4);
  EXPECT_DOUBLE_EQ(s.momentum(), 0);  // given explicitly: 0 is a real value
  EXPECT_DOUBLE_EQ(s.lr_decay(), 0.7);
  EXPECT_TRUE(a->follow);
  EXPECT_EQ(a->server, kDefaultServer);
  EXPECT_FALSE(a->json);
}

TEST(ParseArgs, SubmitDefaultsLeaveSpecForTheDaemonAndMomentumNegative) {
  absl::StatusOr<Args> a = Parse({"submit", "sst2"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->spec.task(), "sst2");
  EXPECT_EQ(a->spec.epochs(), 0);
  EXPECT_EQ(a->spec.model(), "");
  EXPECT_LT(a->spec.momentum(), 0);  // the API's "default"
  EXPECT_FALSE(a->follow);
}

TEST(ParseArgs, Sst2EmbeddingsAndUnderscoreSpelling) {
  absl::StatusOr<Args> a =
      Parse({"submit", "sst2", "--embeddings", "glove.txt", "--embedding_dim=50", "-f"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->spec.embeddings_file(), "glove.txt");
  EXPECT_EQ(a->spec.embedding_dim(), 50);
  EXPECT_TRUE(a->follow);
}

TEST(ParseArgs, GlobalFlagsAnywhereAndServerFromEnvironment) {
  absl::StatusOr<Args> a = Parse({"--json", "list", "--server", "h:1"}, "env:2");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->command, Command::kList);
  EXPECT_TRUE(a->json);
  EXPECT_EQ(a->server, "h:1");
  EXPECT_TRUE(a->server_from_flag);

  a = Parse({"--server=h:3", "devices"}, "env:2");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->server, "h:3");

  a = Parse({"devices"}, "env:2");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->command, Command::kDevices);
  EXPECT_EQ(a->server, "env:2");
  EXPECT_FALSE(a->server_from_flag);
}

TEST(ParseArgs, TlsCaAndTokenFileAreGlobal) {
  absl::StatusOr<Args> a =
      Parse({"--tls-ca", "ca.pem", "list", "--token-file=tok", "--server", "h:1"}, "");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->tls_ca, "ca.pem");
  EXPECT_EQ(a->token_file, "tok");
  a = Parse({"list"}, "");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->tls_ca, "");
  EXPECT_EQ(a->token_file, "");
  EXPECT_THAT(UsageText(), HasSubstr("--tls-ca FILE"));
  EXPECT_THAT(UsageText(), HasSubstr("$MT_TOKEN"));
}

TEST(ParseArgs, LogsFollowAndFrom) {
  absl::StatusOr<Args> a = Parse({"logs", "job-1", "-f", "--from", "3"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->command, Command::kLogs);
  EXPECT_EQ(a->job_id, "job-1");
  EXPECT_TRUE(a->follow);
  EXPECT_EQ(a->from_epoch, 3);

  a = Parse({"logs", "--follow=true", "job-1"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->follow);
  EXPECT_EQ(a->from_epoch, 0);

  a = Parse({"logs", "job-1", "--follow=false"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_FALSE(a->follow);
}

TEST(ParseArgs, ListStateIsCaseInsensitive) {
  absl::StatusOr<Args> a = Parse({"list", "--state", "Running"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->state_filter, v1::RUNNING);
  a = Parse({"list", "--state=interrupted"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->state_filter, v1::INTERRUPTED);
  a = Parse({"list"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->state_filter, v1::JOB_STATE_UNSPECIFIED);
}

TEST(ParseArgs, JobCommands) {
  for (auto [name, command] :
       std::vector<std::pair<std::string, Command>>{{"status", Command::kStatus},
                                                    {"cancel", Command::kCancel},
                                                    {"resume", Command::kResume}}) {
    absl::StatusOr<Args> a = Parse({name, "abc"});
    ASSERT_TRUE(a.ok()) << name << ": " << a.status();
    EXPECT_EQ(a->command, command);
    EXPECT_EQ(a->job_id, "abc");
  }
  absl::StatusOr<Args> a = Parse({"resume", "abc", "--follow"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->follow);
}

TEST(ParseArgs, PredictAndActivationsInputs) {
  absl::StatusOr<Args> a = Parse({"predict", "j", "--index", "12"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->input.kind, InputArg::Kind::kIndex);
  EXPECT_EQ(a->input.index, 12);

  a = Parse({"predict", "j", "--image=seven.png"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->input.kind, InputArg::Kind::kImage);
  EXPECT_EQ(a->input.image_path, "seven.png");

  // A value that starts with '-' is still the flag's value.
  a = Parse({"predict", "j", "--text", "-- not bad at all"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->input.kind, InputArg::Kind::kText);
  EXPECT_EQ(a->input.text, "-- not bad at all");

  a = Parse({"activations", "j", "--out", "acts", "--index", "0"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->command, Command::kActivations);
  EXPECT_EQ(a->out, "acts");
  EXPECT_EQ(a->input.index, 0);
}

TEST(ParseArgs, ExportAndDoubleDash) {
  absl::StatusOr<Args> a = Parse({"export", "--out", "m.safetensors", "--", "-odd-id"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->command, Command::kExport);
  EXPECT_EQ(a->job_id, "-odd-id");
  EXPECT_EQ(a->out, "m.safetensors");
}

TEST(ParseArgs, HelpForms) {
  for (std::vector<std::string> argv :
       std::vector<std::vector<std::string>>{{"--help"}, {"-h"}, {"help"}, {"--json", "help"}}) {
    absl::StatusOr<Args> a = Parse(argv);
    ASSERT_TRUE(a.ok()) << argv[0] << ": " << a.status();
    EXPECT_EQ(a->command, Command::kHelp);
    EXPECT_EQ(a->help_topic, "");
  }
  for (std::vector<std::string> argv :
       std::vector<std::vector<std::string>>{{"help", "submit"},
                                             {"submit", "--help"},
                                             {"submit", "-h"},
                                             // --help wins over mistakes elsewhere on the line.
                                             {"submit", "--bogus", "--epochs", "zero", "--help"}}) {
    absl::StatusOr<Args> a = Parse(argv);
    ASSERT_TRUE(a.ok()) << a.status();
    EXPECT_EQ(a->command, Command::kHelp);
    EXPECT_EQ(a->help_topic, "submit");
  }
}

TEST(ParseArgs, TaskNamesPassThroughToTheDaemon) {
  // The daemon knows its tasks: an unknown one is its to reject, naming the tasks it has
  // (server/job_spec_test.cc: "invalid task 'cifar': must be mnist or sst2").
  absl::StatusOr<Args> a = Parse({"submit", "cifar"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->spec.task(), "cifar");
}

TEST(ParseArgs, EveryBadFormNamesTheProblem) {
  EXPECT_EQ(Error({}), "no command given");
  EXPECT_EQ(Error({"--json"}), "no command given");
  EXPECT_EQ(Error({"sumbit", "mnist"}), "unknown command 'sumbit'");
  EXPECT_EQ(Error({"help", "frobnicate"}), "unknown command 'frobnicate'");
  EXPECT_EQ(Error({"submit", "mnist", "--bogus"}), "unknown flag --bogus for submit");
  EXPECT_EQ(Error({"submit", "mnist", "-x"}), "unknown flag -x for submit");
  EXPECT_EQ(Error({"submit", "mnist", "-fx"}), "unknown flag -fx");
  EXPECT_EQ(Error({"--follow", "logs", "j"}),
            "unknown flag --follow (a command's flags go after it)");
  EXPECT_EQ(Error({"logs", "j", "--from"}), "--from needs a value");
  EXPECT_EQ(Error({"submit", "mnist", "--model="}), "--model needs a value");
  EXPECT_EQ(Error({"list", "--server"}), "--server needs a value");
  EXPECT_EQ(Error({"logs", "j", "--follow=maybe"}), "--follow takes no value, got 'maybe'");
  EXPECT_EQ(Error({"submit", "mnist", "--epochs", "3", "--epochs=4"}), "--epochs given twice");
  EXPECT_EQ(Error({"submit"}), "submit needs a task: mnist or sst2");
  EXPECT_EQ(Error({"submit", "mnist", "extra"}), "unexpected argument 'extra'");
  EXPECT_EQ(Error({"submit", "mnist", "--epochs", "ten"}),
            "--epochs expects a whole number >= 1, got 'ten'");
  EXPECT_EQ(Error({"submit", "mnist", "--epochs", "0"}),
            "--epochs expects a whole number >= 1, got '0'");
  EXPECT_EQ(Error({"submit", "mnist", "--batch-size", "2.5"}),
            "--batch-size expects a whole number >= 1, got '2.5'");
  EXPECT_EQ(Error({"submit", "mnist", "--lr", "0"}), "--lr expects a number > 0, got '0'");
  EXPECT_EQ(Error({"submit", "mnist", "--lr", "nan"}), "--lr expects a number > 0, got 'nan'");
  EXPECT_EQ(Error({"submit", "mnist", "--momentum", "-1"}),
            "--momentum expects a number >= 0, got '-1'");
  EXPECT_EQ(Error({"submit", "mnist", "--optimizer", "rmsprop"}),
            "--optimizer expects sgd or adam, got 'rmsprop'");
  EXPECT_EQ(Error({"submit", "mnist", "--device", "gpu"}),
            "--device expects auto, cpu or cuda:N, got 'gpu'");
  EXPECT_EQ(Error({"submit", "mnist", "--device", "cuda:"}),
            "--device expects auto, cpu or cuda:N, got 'cuda:'");
  EXPECT_EQ(Error({"submit", "mnist", "--seed", "-3"}),
            "--seed expects a whole number >= 0, got '-3'");
  EXPECT_EQ(Error({"submit", "mnist", "--threads", "-1"}),
            "--threads expects a whole number >= 0, got '-1'");
  EXPECT_EQ(Error({"submit", "mnist", "--train-size", "0"}),
            "--train-size expects a whole number >= 1, got '0'");
  EXPECT_EQ(Error({"submit", "mnist", "--embeddings", "g.txt"}),
            "--embeddings and --embedding-dim apply to sst2 only");
  EXPECT_EQ(Error({"logs"}), "logs needs a JOB id");
  EXPECT_EQ(Error({"status"}), "status needs a JOB id");
  EXPECT_EQ(Error({"status", "a", "b"}), "unexpected argument 'b'");
  EXPECT_EQ(Error({"logs", "j", "--from", "0"}), "--from expects a whole number >= 1, got '0'");
  EXPECT_EQ(Error({"list", "--state", "done"}),
            "--state expects queued, running, succeeded, failed, cancelled or interrupted, "
            "got 'done'");
  EXPECT_EQ(Error({"list", "--follow"}), "unknown flag --follow for list");
  EXPECT_EQ(Error({"predict", "j"}),
            "predict needs an input: --index K, --image FILE or --text \"...\"");
  EXPECT_EQ(Error({"predict", "j", "--index", "1", "--text", "hi"}),
            "give only one input: --index, --image or --text");
  EXPECT_EQ(Error({"predict", "j", "--index", "-1"}),
            "--index expects a whole number >= 0, got '-1'");
  EXPECT_EQ(Error({"predict", "j", "--index", "1", "--follow"}),
            "unknown flag --follow for predict");
  EXPECT_EQ(Error({"activations", "j", "--index", "1"}), "activations needs --out DIR");
  EXPECT_EQ(Error({"export", "j"}), "export needs --out FILE");
  EXPECT_EQ(Error({"devices", "extra"}), "unexpected argument 'extra'");
}

TEST(ParseArgs, NameEpochWideInvertAndVersion) {
  absl::StatusOr<Args> a = Parse({"submit", "mnist", "--name", "baseline run"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->spec.name(), "baseline run");
  EXPECT_EQ(Error({"submit", "mnist", "--name", std::string(65, 'n')}),
            "--name is 65 bytes long; at most 64 are allowed");
  EXPECT_EQ(Error({"submit", "mnist", "--name", "a\tb"}),
            "--name must be one line of printable text");

  a = Parse({"predict", "j", "--index", "1", "--epoch", "3", "--out", "in"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->epoch, 3);
  EXPECT_FALSE(a->best_epoch);
  EXPECT_EQ(a->out, "in");
  a = Parse({"export", "j", "--out", "w.safetensors", "--epoch=best"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->best_epoch);
  EXPECT_EQ(a->epoch, 0);
  EXPECT_EQ(Error({"activations", "j", "--index", "1", "--out", "d", "--epoch", "0"}),
            "--epoch expects an epoch number (1, 2, ...) or best, got '0'");
  EXPECT_EQ(Error({"predict", "j", "--index", "1", "--epoch", "last"}),
            "--epoch expects an epoch number (1, 2, ...) or best, got 'last'");

  a = Parse({"predict", "j", "--image", "d.jpg", "--invert"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->input.invert);
  EXPECT_EQ(Error({"predict", "j", "--index", "1", "--invert"}),
            "--invert applies to --image only");

  a = Parse({"list", "--wide"});
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->wide);
  a = Parse({"list", "--version"});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->command, Command::kVersion);
  a = Parse({"--version"});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->command, Command::kVersion);
}

TEST(ParseArgs, DeleteAndPrune) {
  absl::StatusOr<Args> a = Parse({"delete", "job-000003"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->command, Command::kDelete);
  EXPECT_EQ(a->job_id, "job-000003");
  EXPECT_EQ(Error({"delete"}), "delete needs a JOB id");

  a = Parse({"prune", "--older-than", "7d"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->command, Command::kPrune);
  EXPECT_EQ(a->older_than_seconds, 7 * 86400);
  EXPECT_EQ(a->older_than, "7d");
  EXPECT_FALSE(a->yes);
  a = Parse({"prune", "--all", "--yes"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->prune_all);
  EXPECT_TRUE(a->yes);
  EXPECT_EQ(Error({"prune"}), "prune needs --older-than AGE (e.g. 7d) or --all");
  EXPECT_EQ(Error({"prune", "--all", "--older-than", "1h"}),
            "give --older-than AGE or --all, not both");
  EXPECT_EQ(Error({"prune", "job-1", "--all"}), "unexpected argument 'job-1'");
}

TEST(ParseAge, UnitsAndBounds) {
  EXPECT_EQ(*ParseAge("90s"), 90);
  EXPECT_EQ(*ParseAge("30m"), 1800);
  EXPECT_EQ(*ParseAge("12h"), 43200);
  EXPECT_EQ(*ParseAge("2w"), 14 * 86400);
  for (const char* bad : {"7", "d", "0d", "-1d", "+1d", "1.5h", "1y", "1 d", ""}) {
    EXPECT_EQ(ParseAge(bad).status().message(),
              absl::StrCat("--older-than expects a whole number and a unit (s, m, h, d or w), "
                           "e.g. 7d; got '",
                           bad, "'"))
        << bad;
  }
  EXPECT_EQ(ParseAge("99999999w").status().message(),
            "--older-than 99999999w is more than 100 years");
}

TEST(Usage, TextListsEveryCommandAndTheGlobalFlags) {
  std::string u = UsageText();
  for (const char* c :
       {"submit mnist|sst2", "logs JOB [-f|--follow] [--from EPOCH]", "list [--state STATE]",
        "status JOB", "cancel JOB", "resume JOB [--follow]", "activations JOB --out DIR",
        "predict JOB", "export JOB --out FILE.safetensors", "devices", "--server HOST:PORT",
        "--json", "$MT_SERVER", "delete JOB", "prune (--older-than AGE | --all) [--yes]",
        "--version", "metrics JOB [--csv]"}) {
    EXPECT_THAT(u, HasSubstr(c));
  }
  EXPECT_THAT(CommandHelp(Command::kSubmit), HasSubstr("--embedding-dim N"));
  EXPECT_THAT(CommandHelp(Command::kLogs), HasSubstr("--from EPOCH"));
}

TEST(Usage, HintNamesTheCommandOnTheLine) {
  EXPECT_EQ(UsageHint({"logs"}),
            "usage: mt-client logs JOB [-f|--follow] [--from EPOCH]\n"
            "(`mt-client help logs` for details)\n");
  EXPECT_THAT(UsageHint({"bogus"}), HasSubstr("mt-client --help"));
}

}  // namespace
}  // namespace mt::client
