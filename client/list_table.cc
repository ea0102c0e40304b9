#include "client/list_table.h"

#include <algorithm>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/text.h"

namespace mt::client {

std::string RelativeTime(int64_t then_ms, int64_t now_ms, bool utc) {
  if (then_ms <= 0) return "-";
  const int64_t s = (now_ms - then_ms) / 1000;
  if (s < 5) return "just now";
  if (s < 60) return absl::StrCat(s, "s ago");
  if (s < 3600) return absl::StrCat(s / 60, "m ago");
  if (s < 86400) return absl::StrCat(s / 3600, "h ago");
  if (s < 30 * 86400) return absl::StrCat(s / 86400, "d ago");
  std::time_t t = static_cast<std::time_t>(then_ms / 1000);
  std::tm tm{};
  if (utc) {
    gmtime_r(&t, &tm);
  } else {
    localtime_r(&t, &tm);
  }
  char buf[16];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d", &tm);
  return buf;
}

std::string FitTable(const std::vector<std::string>& header,
                     const std::vector<std::vector<std::string>>& rows,
                     const std::vector<Align>& align, const std::vector<Shrink>& shrinks,
                     size_t width) {
  const size_t n = header.size();
  std::vector<size_t> w(n, 0);
  for (size_t c = 0; c < n; ++c) {
    w[c] = DisplayWidth(header[c]);
    for (const auto& row : rows) {
      if (c < row.size()) w[c] = std::max(w[c], DisplayWidth(row[c]));
    }
  }
  std::vector<bool> keep(n, true);
  auto total = [&] {
    size_t sum = 0, shown = 0;
    for (size_t c = 0; c < n; ++c) {
      if (!keep[c]) continue;
      sum += w[c];
      ++shown;
    }
    return sum + (shown > 0 ? 2 * (shown - 1) : 0);
  };
  for (const Shrink& s : shrinks) {
    if (total() <= width) break;
    if (s.column >= n || !keep[s.column]) continue;
    const size_t excess = total() - width;
    if (s.min_width == 0) {
      if (w[s.column] >= excess + kMinUsefulWidth) {
        w[s.column] -= excess;
      } else {
        keep[s.column] = false;  // dropping it also frees its separator
      }
      continue;
    }
    if (w[s.column] > s.min_width) w[s.column] -= std::min(excess, w[s.column] - s.min_width);
  }
  std::vector<std::string> h;
  std::vector<Align> a;
  for (size_t c = 0; c < n; ++c) {
    if (!keep[c]) continue;
    h.push_back(Truncate(header[c], w[c]));
    a.push_back(c < align.size() ? align[c] : Align::kLeft);
  }
  std::vector<std::vector<std::string>> cut;
  for (const auto& row : rows) {
    std::vector<std::string> r;
    for (size_t c = 0; c < n; ++c) {
      if (keep[c]) r.push_back(Truncate(c < row.size() ? row[c] : "", w[c]));
    }
    cut.push_back(std::move(r));
  }
  return Table(h, cut, a);
}

std::string JobsListTable(const std::vector<v1::Job>& jobs, int64_t now_ms, size_t width,
                          bool utc) {
  bool named = false;
  for (const v1::Job& j : jobs) named |= !j.spec().name().empty();
  std::vector<std::string> header = {"ID", "STATE"};
  if (named) header.push_back("NAME");
  const size_t task_col = header.size();
  for (const char* h : {"TASK", "EPOCHS", "BEST", "CREATED", "NOTE"}) header.push_back(h);
  const size_t note_col = header.size() - 1;
  std::vector<std::vector<std::string>> rows;
  for (const v1::Job& j : jobs) {
    std::vector<std::string> row = {j.id(), StateName(j.state())};
    if (named) row.push_back(j.spec().name().empty() ? "-" : j.spec().name());
    std::string note = j.state() == v1::FAILED ? j.error() : j.waiting_reason();
    row.insert(row.end(),
               {absl::StrCat(j.spec().task(), "/", j.spec().model()),
                absl::StrCat(j.epochs_done(), "/", j.spec().epochs()),
                j.best_epoch() > 0 ? absl::StrFormat("%.2f%%", 100 * j.best_valid_accuracy())
                                   : std::string("-"),
                RelativeTime(j.created_unix_ms(), now_ms, utc), note});
    rows.push_back(std::move(row));
  }
  std::vector<Align> align(header.size(), Align::kLeft);
  align[task_col + 1] = Align::kRight;  // EPOCHS
  align[task_col + 2] = Align::kRight;  // BEST
  // Notes give way first, then names and task/model by turns, so that each keeps a readable
  // start; a note goes entirely only when there is no room for a useful piece of it.
  std::vector<Shrink> shrinks = {{note_col, 12}};
  if (named) shrinks.push_back({2, 12});
  shrinks.push_back({task_col, 14});
  shrinks.push_back({note_col, 10});
  if (named) shrinks.push_back({2, 10});
  shrinks.push_back({task_col, 10});
  shrinks.push_back({note_col, 0});
  if (named) shrinks.push_back({2, 0});
  return FitTable(header, rows, align, shrinks, width);
}

}  // namespace mt::client
