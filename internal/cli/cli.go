// Package cli is the netbench command line, a function of its arguments and
// output streams so that it can be tested without a process.
package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"kube-netbench/internal/lab"
)

const usage = `usage: netbench <command>

commands:
  lab up       start the embedded lab (LAB_DATAPLANE, LAB_NODES, LAB_DIR, ...) and leave it running
  lab down     remove the lab and everything it made (also a half-made or interrupted one)
  lab status   list what of a lab is present on this machine
  parse TOOL FILE
               print one raw tool output as normalized JSON; FILE - reads standard input.
               TOOL is fortio (fortio load -json), iperf3 (iperf3 -J) or netperf (netperf -o with
               the selectors of internal/tools/netperf). Bad or truncated input exits 1.
`

// Run executes the command line and returns the process exit code. It
// reads standard input only as the FILE - of parse.
func Run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "parse":
			return runParse(args[1:], stdin, stdout, stderr)
		case "lab":
			if len(args) >= 2 {
				return runLab(args[1], stdout, stderr)
			}
		}
	}
	fmt.Fprint(stderr, usage)
	return 2
}

// runLab runs lab up, down or status.
func runLab(cmd string, stdout, stderr io.Writer) int {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	opts, err := lab.OptionsFromEnv(os.Getenv, lab.DefaultDir())
	if err != nil {
		fmt.Fprintf(stderr, "netbench: %v\n", err)
		return 2
	}
	switch cmd {
	case "up":
		l, err := lab.Up(ctx, opts, log)
		if err != nil {
			fmt.Fprintf(stderr, "netbench lab up: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, `The lab is up: %d nodes, dataplane %s.

  export KUBECONFIG=%s
  kubectl get nodes -o wide
  go test ./e2e            # runs the suite against this lab (KUBECONFIG set)
  make lab-down            # removes it and everything it made

Address plan:
%s`, opts.Plan.Nodes, opts.Dataplane, l.Kubeconfig, opts.Plan.Describe())
		return 0
	case "down":
		if err := lab.Down(ctx, opts.Dir, log); err != nil {
			fmt.Fprintf(stderr, "netbench lab down: %v\n", err)
			return 1
		}
		return 0
	case "status":
		left, err := lab.Leftovers(opts)
		if err != nil {
			fmt.Fprintf(stderr, "netbench lab status: %v\n", err)
			return 1
		}
		// The machine-wide settings a real node's kubelet writes, always
		// shown, so that a change outside a lab is visible too.
		tun, err := lab.KernelTunables(opts.Dir)
		if err != nil {
			fmt.Fprintf(stderr, "netbench lab status: %v\n", err)
			return 1
		}
		if len(left) == 0 {
			fmt.Fprintln(stdout, "no lab on this machine")
		} else {
			fmt.Fprintf(stdout, "present:\n  %s\n", strings.Join(left, "\n  "))
		}
		fmt.Fprintf(stdout, "kernel tunables a kubelet writes:\n  %s\n", strings.Join(tun, "\n  "))
		return 0
	}
	fmt.Fprint(stderr, usage)
	return 2
}
