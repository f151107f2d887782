package dataplane

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"
)

// Reads across nodes: at most nodeParallel at once, each node within
// nodeBudget (and the caller's deadline), so a large cluster takes
// nodes/nodeParallel rounds rather than one exec after another, and one
// stuck node is named instead of eating every other node's time.
const (
	nodeParallel = 8
	nodeBudget   = 90 * time.Second
)

// perNode runs read for every node of pods (node -> pod) in parallel and
// returns each node's result; the error names every node that failed.
func perNode[T any](ctx context.Context, pods map[string]string, read func(ctx context.Context, node, pod string) (T, error)) (map[string]T, error) {
	nodes := slices.Sorted(maps.Keys(pods))
	vals := make([]T, len(nodes))
	errs := make([]error, len(nodes))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(nodeParallel)
	for i, node := range nodes {
		g.Go(func() error {
			nctx, cancel := context.WithTimeout(gctx, nodeBudget)
			defer cancel()
			if vals[i], errs[i] = read(nctx, node, pods[node]); errs[i] != nil {
				errs[i] = fmt.Errorf("node %s: %w", node, errs[i])
			}
			return nil
		})
	}
	_ = g.Wait()
	out := make(map[string]T, len(nodes))
	for i, node := range nodes {
		out[node] = vals[i]
	}
	return out, errors.Join(errs...)
}
