//go:build !linux

package netlab

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"kube-netbench/internal/lab/netplan"
)

// errUnsupported is what every operation returns off Linux, so that the packages using netlab still compile
// (and their pure tests run) everywhere.
var errUnsupported = fmt.Errorf("netlab: network namespaces need Linux, not %s: %w", runtime.GOOS, errors.ErrUnsupported)

// MachinePrefixes is only implemented on Linux.
func MachinePrefixes() ([]netplan.MachineRange, error) { return nil, errUnsupported }

// Up is only implemented on Linux.
func Up(context.Context, netplan.Plan) error { return errUnsupported }

// Down is only implemented on Linux.
func Down(netplan.Plan) error { return errUnsupported }

// Leftovers is only implemented on Linux.
func Leftovers(netplan.Plan) ([]string, error) { return nil, errUnsupported }

// CreateNetns is only implemented on Linux.
func CreateNetns(string) error { return errUnsupported }

// DeleteNetns is only implemented on Linux.
func DeleteNetns(string) error { return errUnsupported }

// InNetns is only implemented on Linux.
func InNetns(string, func() error) error { return errUnsupported }
