// Protobuf text format with errors an operator can act on: "file:line:column: message".
#pragma once

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/message.h"

namespace ferry::control {

// Parses `text` into `message` (cleared first). Unknown fields are errors, never ignored: a
// misspelt option must not silently fall back to its default. Returns InvalidArgument with
// every error, each as "<source_name>:<line>:<column>: <message>", lines and columns from 1.
absl::Status ParseTextProto(absl::string_view text, absl::string_view source_name,
                            google::protobuf::Message* message);

// Reads a whole file. Returns NotFound or PermissionDenied naming the path.
absl::StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace ferry::control
