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
