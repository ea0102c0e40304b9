#include "engine/train/train_config.h"

#include "absl/strings/str_cat.h"
#include "common/short_quote.h"

namespace mt::train {

absl::Status InvalidField(const std::string& field, const std::string& value,
                          const std::string& allowed) {
  // The value came from a user: quoted briefly (see common/short_quote.h).
  return absl::InvalidArgumentError(
      absl::StrCat("invalid ", field, " '", ShortQuote(value), "': ", allowed));
}

}  // namespace mt::train
