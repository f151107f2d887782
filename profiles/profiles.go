// Package profiles carries the thresholds profiles in the binaries that use
// them, so that a compiled suite or CLI judges a run the same way from any
// working directory.
package profiles

import _ "embed"

// DefaultName is the default profile's path in the repository; results
// record it as the profile used when PROFILE is unset.
const DefaultName = "profiles/default.yaml"

// Default is the content of default.yaml, used when PROFILE is unset.
//
//go:embed default.yaml
var Default []byte
