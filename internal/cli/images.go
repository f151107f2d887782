package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"

	"kube-netbench/internal/lab/components"
	"kube-netbench/internal/lab/images"
)

// runImages builds the lab's image archives that are missing or stale and lists them.
func runImages(stdout, stderr io.Writer) int {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cache, err := components.DefaultCache(os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "netbench: %v\n", err)
		return 2
	}
	archives, err := images.Ensure(ctx, cache, log)
	if err != nil {
		fmt.Fprintf(stderr, "netbench lab images: %v\n", err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REFERENCE\tDIGEST\tSIZE\tARCHIVE")
	for _, a := range archives {
		fmt.Fprintf(tw, "%s\t%s\t%.1f MiB\t%s\n", a.Ref, a.Digest, float64(a.Size)/(1<<20), a.Path)
	}
	if err := tw.Flush(); err != nil {
		return 1
	}
	return 0
}
