#include "server/http/exposition_parser.h"

#include <cmath>
#include <cstdlib>
#include <regex>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace mt::server::http::testing {
namespace {

const std::regex kName("[a-zA-Z_:][a-zA-Z0-9_:]*");
const std::regex kLabelName("[a-zA-Z_][a-zA-Z0-9_]*");

absl::Status Bad(int line, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat("line ", line, ": ", why));
}

bool ParseNumber(const std::string& s, double* v) {
  if (s == "+Inf") { *v = INFINITY; return true; }
  if (s == "-Inf") { *v = -INFINITY; return true; }
  if (s == "NaN") { *v = NAN; return true; }
  if (s.empty()) return false;
  char* end = nullptr;
  *v = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

// The family a sample belongs to: histograms' _bucket/_sum/_count belong to their base name.
std::string FamilyOf(const std::string& name, const std::map<std::string, ParsedFamily>& fams) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s(suffix);
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      const std::string base = name.substr(0, name.size() - s.size());
      auto it = fams.find(base);
      if (it != fams.end() && (it->second.type == "histogram" || it->second.type == "summary")) {
        return base;
      }
    }
  }
  return name;
}

}  // namespace

absl::StatusOr<double> Exposition::Value(const std::string& name,
                                         const std::map<std::string, std::string>& labels) const {
  for (const auto& [fname, f] : families) {
    for (const ParsedSample& s : f.samples) {
      if (s.name == name && s.labels == labels) return s.value;
    }
  }
  return absl::NotFoundError(absl::StrCat("no sample ", name));
}

absl::StatusOr<Exposition> ParseExposition(const std::string& text) {
  Exposition out;
  if (!text.empty() && text.back() != '\n') return Bad(0, "the text must end with a newline");
  std::set<std::string> closed;  // families whose samples have ended
  std::string current;
  int n = 0;
  for (absl::string_view line_view : absl::StrSplit(text, '\n')) {
    ++n;
    const std::string line(line_view);
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::vector<std::string> parts = absl::StrSplit(line, absl::MaxSplits(' ', 3));
      if (parts.size() < 3 || (parts[1] != "HELP" && parts[1] != "TYPE")) continue;  // comment
      const std::string& name = parts[2];
      if (!std::regex_match(name, kName)) return Bad(n, "bad metric name " + name);
      if (closed.count(name)) return Bad(n, name + " appears twice");
      if (!current.empty() && current != name) closed.insert(current);
      current = name;
      ParsedFamily& f = out.families[name];
      f.name = name;
      const std::string rest = parts.size() > 3 ? parts[3] : "";
      if (parts[1] == "TYPE") {
        if (!f.type.empty()) return Bad(n, "second TYPE for " + name);
        if (!f.samples.empty()) return Bad(n, "TYPE after samples of " + name);
        static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary",
                                                     "untyped"};
        if (!kTypes.count(rest)) return Bad(n, "unknown type " + rest);
        f.type = rest;
      } else {
        std::string help;
        for (size_t i = 0; i < rest.size(); ++i) {
          if (rest[i] != '\\') { help += rest[i]; continue; }
          if (++i == rest.size()) return Bad(n, "HELP ends in a backslash");
          if (rest[i] == 'n') help += '\n';
          else if (rest[i] == '\\') help += '\\';
          else return Bad(n, "bad escape in HELP");
        }
        f.help = help;
      }
      continue;
    }
    ParsedSample s;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    if (!std::regex_match(s.name, kName)) return Bad(n, "bad sample name " + s.name);
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (true) {
        if (i < line.size() && line[i] == '}') { ++i; break; }
        size_t eq = line.find('=', i);
        if (eq == std::string::npos) return Bad(n, "label without '='");
        const std::string lname = line.substr(i, eq - i);
        if (!std::regex_match(lname, kLabelName)) return Bad(n, "bad label name " + lname);
        i = eq + 1;
        if (i >= line.size() || line[i] != '"') return Bad(n, "label value not quoted");
        ++i;
        std::string value;
        while (true) {
          if (i >= line.size()) return Bad(n, "unterminated label value");
          const char c = line[i++];
          if (c == '"') break;
          if (c == '\n') return Bad(n, "raw newline in a label value");
          if (c != '\\') { value += c; continue; }
          if (i >= line.size()) return Bad(n, "label value ends in a backslash");
          const char e = line[i++];
          if (e == 'n') value += '\n';
          else if (e == '\\') value += '\\';
          else if (e == '"') value += '"';
          else return Bad(n, std::string("bad escape \\") + e + " in a label value");
        }
        if (s.labels.count(lname)) return Bad(n, "label " + lname + " twice");
        s.labels[lname] = value;
        if (i < line.size() && line[i] == ',') ++i;
      }
    }
    if (i >= line.size() || line[i] != ' ') return Bad(n, "no space before the value");
    std::vector<std::string> rest = absl::StrSplit(line.substr(i + 1), ' ');
    if (rest.empty() || rest.size() > 2) return Bad(n, "expected a value (and a timestamp)");
    if (!ParseNumber(rest[0], &s.value)) return Bad(n, "bad value " + rest[0]);
    const std::string family = FamilyOf(s.name, out.families);
    auto it = out.families.find(family);
    if (it == out.families.end() || it->second.type.empty()) {
      return Bad(n, "sample " + s.name + " before its # TYPE line");
    }
    if (family != current || closed.count(family)) return Bad(n, family + "'s samples are split");
    it->second.samples.push_back(std::move(s));
  }
  // Histograms: per label set, buckets cumulative, le="+Inf" equal to _count.
  for (const auto& [name, f] : out.families) {
    if (f.type != "histogram") continue;
    std::map<std::map<std::string, std::string>, std::vector<std::pair<double, double>>> buckets;
    std::map<std::map<std::string, std::string>, double> counts;
    for (const ParsedSample& s : f.samples) {
      std::map<std::string, std::string> key = s.labels;
      if (s.name == name + "_bucket") {
        auto le = key.find("le");
        if (le == key.end()) return Bad(0, name + "_bucket without le");
        double bound = 0;
        if (!ParseNumber(le->second, &bound)) return Bad(0, "bad le " + le->second);
        key.erase(le);
        buckets[key].push_back({bound, s.value});
      } else if (s.name == name + "_count") {
        counts[key] = s.value;
      }
    }
    for (const auto& [key, bs] : buckets) {
      for (size_t i = 1; i < bs.size(); ++i) {
        if (!(bs[i].first > bs[i - 1].first) || bs[i].second < bs[i - 1].second) {
          return Bad(0, name + ": buckets not increasing");
        }
      }
      if (bs.empty() || !std::isinf(bs.back().first)) return Bad(0, name + ": no +Inf bucket");
      if (!counts.count(key) || counts[key] != bs.back().second) {
        return Bad(0, name + ": +Inf bucket differs from _count");
      }
    }
  }
  return out;
}

}  // namespace mt::server::http::testing
