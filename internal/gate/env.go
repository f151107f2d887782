package gate

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"kube-netbench/internal/report"
)

// EnvDiff is one difference between the fingerprints of a baseline and a
// candidate run.
type EnvDiff struct {
	// Field names what differs, e.g. "kernel", "node client instanceType",
	// "tool fortio image", "config FORTIO_DURATION".
	Field string
	// Baseline and Candidate are its values; "" when absent.
	Baseline, Candidate string
	// MayDiffer marks what an upgrade gate is meant to compare (the
	// dataplane's and Kubernetes' versions, the dataplane's own images) or
	// what does not shape the measurement (node names, the number of rounds,
	// extra provenance). Any other difference makes the runs incomparable
	// unless the environment change is allowed.
	MayDiffer bool
}

// dataplaneTools are the fingerprint's tools that are the dataplane itself
// (the suite's fingerprint adds them): their images follow DataplaneVersion,
// which an upgrade changes.
var dataplaneTools = map[string]bool{"kube-proxy": true, "cilium-agent": true}

// mayDifferConfig are configuration keys that do not shape a sample: more
// rounds narrow the interval, they do not move the median.
var mayDifferConfig = map[string]bool{"ROUNDS": true, "PROFILE": true, "RESULTS_DIR": true, "RUN_ID": true}

// envDiffs lists every difference between b and c, in a fixed order.
func envDiffs(b, c report.Fingerprint) []EnvDiff {
	var out []EnvDiff
	add := func(field, bv, cv string, may bool) {
		if bv != cv {
			out = append(out, EnvDiff{Field: field, Baseline: bv, Candidate: cv, MayDiffer: may})
		}
	}
	add("dataplane", b.Dataplane, c.Dataplane, false)
	add("kubeProxyMode", b.KubeProxyMode, c.KubeProxyMode, false)
	add("dataplaneVersion", b.DataplaneVersion, c.DataplaneVersion, true)
	add("kubernetesVersion", b.KubernetesVersion, c.KubernetesVersion, true)
	add("kernel", b.Kernel, c.Kernel, false)
	out = append(out, nodeDiffs(b.Nodes, c.Nodes)...)
	out = append(out, toolDiffs(b.Tools, c.Tools)...)
	for _, k := range unionKeys(b.Config, c.Config) {
		add("config "+k, b.Config[k], c.Config[k], mayDifferConfig[k])
	}
	for _, k := range unionKeys(b.Extra, c.Extra) {
		add("extra "+k, b.Extra[k], c.Extra[k], true)
	}
	return out
}

// nodeDiffs compares the nodes role by role: their number, instance types
// and kernels must agree; their names may differ.
func nodeDiffs(b, c []report.Node) []EnvDiff {
	var out []EnvDiff
	if len(b) != len(c) {
		out = append(out, EnvDiff{Field: "nodes", Baseline: strconv.Itoa(len(b)), Candidate: strconv.Itoa(len(c))})
	}
	byRole := func(nodes []report.Node) map[string][]report.Node {
		m := map[string][]report.Node{}
		for _, n := range nodes {
			m[n.Role] = append(m[n.Role], n)
		}
		return m
	}
	br, cr := byRole(b), byRole(c)
	for _, role := range unionKeys(br, cr) {
		bn, cn := br[role], cr[role]
		if len(bn) != len(cn) {
			out = append(out, EnvDiff{Field: "nodes with role " + quoteEmpty(role), Baseline: strconv.Itoa(len(bn)), Candidate: strconv.Itoa(len(cn))})
			continue
		}
		for i := range bn {
			field := "node " + quoteEmpty(role)
			if len(bn) > 1 {
				field += fmt.Sprintf(" #%d", i+1)
			}
			for _, f := range []struct {
				name, b, c string
				may        bool
			}{
				{"instanceType", bn[i].InstanceType, cn[i].InstanceType, false},
				{"kernel", bn[i].Kernel, cn[i].Kernel, false},
				{"name", bn[i].Name, cn[i].Name, true},
			} {
				if f.b != f.c {
					out = append(out, EnvDiff{Field: field + " " + f.name, Baseline: f.b, Candidate: f.c, MayDiffer: f.may})
				}
			}
		}
	}
	return out
}

// toolDiffs compares the tools by name: a tool on one side only, or another
// image, image ID or version of a load tool, changes the measuring
// instrument; the dataplane's own images may change.
func toolDiffs(b, c []report.Tool) []EnvDiff {
	byName := func(tools []report.Tool) map[string]report.Tool {
		m := map[string]report.Tool{}
		for _, t := range tools {
			m[t.Name] = t
		}
		return m
	}
	bt, ct := byName(b), byName(c)
	var out []EnvDiff
	for _, name := range unionKeys(bt, ct) {
		bv, inB := bt[name]
		cv, inC := ct[name]
		may := dataplaneTools[name]
		if !inB || !inC {
			out = append(out, EnvDiff{Field: "tool " + name, Baseline: present(inB, bv.Image), Candidate: present(inC, cv.Image), MayDiffer: may})
			continue
		}
		fields := []struct{ name, b, c string }{{"image", bv.Image, cv.Image}, {"version", bv.Version, cv.Version}}
		if bv.ImageID != "" && cv.ImageID != "" { // an ID recorded on one side only proves nothing
			fields = append(fields, struct{ name, b, c string }{"imageID", bv.ImageID, cv.ImageID})
		}
		for _, f := range fields {
			if f.b != f.c {
				out = append(out, EnvDiff{Field: "tool " + name + " " + f.name, Baseline: f.b, Candidate: f.c, MayDiffer: may})
			}
		}
	}
	return out
}

func present(ok bool, image string) string {
	if !ok {
		return ""
	}
	if image == "" {
		return "(present)"
	}
	return image
}

func quoteEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

func unionKeys[V any](a, b map[string]V) []string {
	keys := slices.Collect(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// describe formats a difference for a message: `kernel "6.1" -> "6.6"`.
func (d EnvDiff) describe() string {
	return fmt.Sprintf("%s %s -> %s", d.Field, show(d.Baseline), show(d.Candidate))
}

func show(v string) string {
	if v == "" {
		return "(none)"
	}
	return strconv.Quote(strings.TrimSpace(v))
}
