// Command images builds the container images the lab's nodes run, offline: each under its
// exact upstream reference, holding what the upstream image holds (see docs/lab.md, "Images"),
// from the lab's component cache and from roots that scripts/lab-images.sh stages from Debian
// packages. The result is an OCI archive per image, which `ctr -n k8s.io images import`
// takes as it is (named by its io.containerd.image.name annotation, digest kept), and an index
// of them ([Ensure]) that the lab reads. scripts/lab-images.sh runs it:
//
//	go run -C scripts/labbuild/images . -versions scripts/lab-versions.env [-cache DIR]
//
// It builds only the archives that are missing or whose inputs changed, and lists them all.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
)

func main() {
	versions := flag.String("versions", "", "scripts/lab-versions.env (required)")
	root := flag.String("cache", "", "the component cache (default: $NETBENCH_CACHE, else $HOME/.cache/kube-netbench)")
	flag.Parse()
	os.Exit(run(*versions, *root, os.Stdout, os.Stderr))
}

func run(versionsFile, root string, stdout, stderr io.Writer) int {
	if versionsFile == "" || flag.NArg() > 0 {
		flag.Usage()
		return 2
	}
	v, err := ReadVersions(versionsFile)
	if err == nil && root == "" {
		root, err = DefaultCacheRoot(os.Getenv)
	}
	if err != nil {
		fmt.Fprintf(stderr, "images: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	archives, err := Ensure(ctx, Cache{Root: root, Versions: v}, log)
	if err != nil {
		fmt.Fprintf(stderr, "images: %v\n", err)
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
