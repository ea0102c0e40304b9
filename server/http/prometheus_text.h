// Prometheus text exposition format (version 0.0.4), written by hand: a family is a `# HELP` and
// a `# TYPE` line followed by its samples, `name{label="value",...} number`. Label values escape
// backslash, double quote and newline; HELP text escapes backslash and newline. No network here:
// metrics.h fills one of these and the HTTP glue serves the text.
#ifndef MT_SERVER_HTTP_PROMETHEUS_TEXT_H_
#define MT_SERVER_HTTP_PROMETHEUS_TEXT_H_

#include <string>
#include <utility>
#include <vector>

namespace mt::server::http {

using Labels = std::vector<std::pair<std::string, std::string>>;

// "a\"b" for a"b: the escaping of label values.
std::string EscapeLabelValue(const std::string& value);
// The escaping of HELP text (backslash, newline; quotes stay).
std::string EscapeHelp(const std::string& help);
// Numbers as Prometheus reads them: integers without a fraction, "+Inf", "-Inf", "NaN".
std::string FormatValue(double value);

class PrometheusText {
 public:
  // Starts a family; `type` is "counter", "gauge", "histogram" or "summary". Each family must be
  // begun once, before its samples.
  void Family(const std::string& name, const std::string& type, const std::string& help);
  // One sample line; `name` is the family's name or, for histograms, name_bucket / _sum / _count.
  void Sample(const std::string& name, const Labels& labels, double value);

  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

}  // namespace mt::server::http

#endif  // MT_SERVER_HTTP_PROMETHEUS_TEXT_H_
