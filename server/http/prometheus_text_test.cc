#include "server/http/prometheus_text.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace mt::server::http {
namespace {

TEST(PrometheusTextTest, EscapesLabelValuesAsTheFormatSays) {
  EXPECT_EQ(EscapeLabelValue("plain"), "plain");
  EXPECT_EQ(EscapeLabelValue("a\"b"), "a\\\"b");
  EXPECT_EQ(EscapeLabelValue("back\\slash"), "back\\\\slash");
  EXPECT_EQ(EscapeLabelValue("two\nlines"), "two\\nlines");
  // Tabs and other bytes stay as they are (UTF-8 included).
  EXPECT_EQ(EscapeLabelValue("t\tü"), "t\tü");
}

TEST(PrometheusTextTest, EscapesHelpButNotQuotes) {
  EXPECT_EQ(EscapeHelp("say \"hi\"\\\n"), "say \"hi\"\\\\\\n");
}

TEST(PrometheusTextTest, FormatsNumbers) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(42), "42");
  EXPECT_EQ(FormatValue(-3), "-3");
  EXPECT_EQ(FormatValue(0.25), "0.25");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::nan("")), "NaN");
  EXPECT_EQ(FormatValue(0.0025), "0.0025");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(std::stod(FormatValue(1.0 / 3)), 1.0 / 3);  // round-trips exactly  // round-trips exactly
  EXPECT_EQ(std::stod(FormatValue(1e20)), 1e20);
}

TEST(PrometheusTextTest, WritesFamiliesAndSamples) {
  PrometheusText t;
  t.Family("mt_jobs", "gauge", "Jobs in each state.");
  t.Sample("mt_jobs", {{"state", "running"}}, 2);
  t.Sample("mt_jobs", {{"state", "odd\"one"}, {"x", "y"}}, 0.5);
  t.Family("mt_total", "counter", "A\nB");
  t.Sample("mt_total", {}, 7);
  EXPECT_EQ(t.text(),
            "# HELP mt_jobs Jobs in each state.\n"
            "# TYPE mt_jobs gauge\n"
            "mt_jobs{state=\"running\"} 2\n"
            "mt_jobs{state=\"odd\\\"one\",x=\"y\"} 0.5\n"
            "# HELP mt_total A\\nB\n"
            "# TYPE mt_total counter\n"
            "mt_total 7\n");
}

}  // namespace
}  // namespace mt::server::http
