//go:build !linux

package netlab

import (
	"errors"
	"fmt"
	"runtime"
)

// errUnsupported is what every operation returns off Linux, so that the packages using netlab still compile
// (and their pure tests run) everywhere.
var errUnsupported = fmt.Errorf("netlab: network namespaces need Linux, not %s: %w", runtime.GOOS, errors.ErrUnsupported)

// CreateNetns is only implemented on Linux.
func CreateNetns(string) error { return errUnsupported }

// DeleteNetns is only implemented on Linux.
func DeleteNetns(string) error { return errUnsupported }

// InNetns is only implemented on Linux.
func InNetns(string, func() error) error { return errUnsupported }
