// `mt-client list`: the jobs table laid out for the terminal (80 columns when there is none),
// with creation times relative to now ("3m ago") and long names and notes cut with "…".
// `list --wide` prints format.h's JobsTable instead (every column in full).
#ifndef MT_CLIENT_LIST_TABLE_H_
#define MT_CLIENT_LIST_TABLE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "client/format.h"
#include "proto/training.pb.h"

namespace mt::client {

// "just now", "45s ago", "3m ago", "5h ago", "2d ago"; beyond 30 days the date
// ("2026-10-01", local or UTC); "-" for 0. A time in the future (clock skew) is "just now".
std::string RelativeTime(int64_t then_ms, int64_t now_ms, bool utc);

// A column that may give up room when the table is too wide: cells of column `column` are cut
// to no fewer than `min_width` characters. With 0 the column may go: it is cut while that
// leaves kMinUsefulWidth characters, and dropped (with its separator) otherwise.
inline constexpr size_t kMinUsefulWidth = 6;
struct Shrink {
  size_t column;
  size_t min_width;
};

// format.h's Table, made to fit `width` columns by applying `shrinks` in order, each only as
// far as needed. A table that still does not fit is returned as narrow as the shrinks allow.
std::string FitTable(const std::vector<std::string>& header,
                     const std::vector<std::vector<std::string>>& rows,
                     const std::vector<Align>& align, const std::vector<Shrink>& shrinks,
                     size_t width);

// ID, STATE, NAME (only when some job has one), TASK (task/model), EPOCHS, BEST, CREATED, NOTE.
std::string JobsListTable(const std::vector<v1::Job>& jobs, int64_t now_ms, size_t width, bool utc);

}  // namespace mt::client

#endif  // MT_CLIENT_LIST_TABLE_H_
