package cli

import (
	"fmt"
	"io"
	"regexp"

	"kube-netbench/internal/cluster"
)

// kindName is what kind accepts as a cluster name (validNameRE in
// sigs.k8s.io/kind pkg/internal/apis/config/validate.go at v0.33.0).
var kindName = regexp.MustCompile(`^[a-z0-9.-]+$`)

// runKind prints the files the suite renders for its own kind cluster, so
// that a cluster made outside the suite (the Cilium upgrade workflow) is
// the same one: kind config DATAPLANE, kind cilium-values DATAPLANE CLUSTER.
func runKind(args []string, stdout, stderr io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "netbench kind: "+format+"\n", a...)
		return 2
	}
	arity := map[string]int{"config": 2, "cilium-values": 3}
	if len(args) == 0 || arity[args[0]] != len(args) {
		return fail("want config DATAPLANE or cilium-values DATAPLANE CLUSTER, got %q\n%s", args, usage)
	}
	dp, err := cluster.ParseDataplane("DATAPLANE", args[1])
	if err != nil {
		return fail("%v", err)
	}
	var out []byte
	if args[0] == "config" {
		out, err = cluster.KindConfig(dp)
	} else {
		name := args[2]
		if !dp.Cilium() {
			return fail("DATAPLANE=%q: not a Cilium dataplane; allowed: %s, %s", dp, cluster.CiliumOverlay, cluster.CiliumNative)
		}
		if !kindName.MatchString(name) {
			return fail("CLUSTER=%q: not a kind cluster name; allowed: %s", name, kindName)
		}
		out, err = cluster.CiliumValues(dp, name)
	}
	if err != nil {
		return fail("%v", err)
	}
	if _, err := stdout.Write(out); err != nil {
		return fail("write: %v", err)
	}
	return 0
}
