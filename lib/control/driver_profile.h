// Driver profiles (ferry.v1.DriverProfile, one text file per NIC family in drivers-config/),
// read and checked on the control path and converted to net::PortProfile.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "ferry/v1/driver_profile.pb.h"
#include "net/port.h"

namespace ferry::control {

// Converts a parsed profile. Returns InvalidArgument "<source>: <field>: <reason>" for a
// missing bus or vdev driver, an unknown RSS hash type or a bad key.
absl::StatusOr<net::PortProfile> ToPortProfile(const v1::DriverProfile& profile,
                                               const std::string& source);

// Reads "<dir>/<name>.textproto". Returns NotFound naming the file if there is none, and
// InvalidArgument with file:line:column for a syntax error or a name that differs from the file.
absl::StatusOr<net::PortProfile> LoadDriverProfile(const std::string& dir, const std::string& name);

}  // namespace ferry::control
