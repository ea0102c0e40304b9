#include "engine/train/train_config.h"

#include "absl/strings/str_cat.h"

namespace mt::train {

absl::Status InvalidField(const std::string& field, const std::string& value,
                          const std::string& allowed) {
  return absl::InvalidArgumentError(absl::StrCat("invalid ", field, " '", value, "': ", allowed));
}

}  // namespace mt::train
