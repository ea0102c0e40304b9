// A strict reader of Prometheus' text exposition format, written for the tests from the
// format's rules rather than from prometheus_text.cc: it checks what a scraper would reject
// (a sample before its # TYPE, a family split in two, bad names, bad escapes, bad numbers,
// non-cumulative histogram buckets) and returns the samples for value checks.
#ifndef MT_SERVER_HTTP_EXPOSITION_PARSER_H_
#define MT_SERVER_HTTP_EXPOSITION_PARSER_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace mt::server::http::testing {

struct ParsedSample {
  std::string name;
  std::map<std::string, std::string> labels;  // unescaped values
  double value = 0;
};

struct ParsedFamily {
  std::string name, type, help;  // help unescaped
  std::vector<ParsedSample> samples;
};

struct Exposition {
  std::map<std::string, ParsedFamily> families;
  // The value of the one sample `name` with exactly `labels`; NotFound otherwise.
  absl::StatusOr<double> Value(const std::string& name,
                               const std::map<std::string, std::string>& labels = {}) const;
};

absl::StatusOr<Exposition> ParseExposition(const std::string& text);

}  // namespace mt::server::http::testing

#endif  // MT_SERVER_HTTP_EXPOSITION_PARSER_H_
