package runreport

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"kube-netbench/internal/report"
)

// FingerprintRow is one property of the runs' fingerprints, a value per
// column ("—" when a run does not record it).
type FingerprintRow struct {
	Name   string
	Values []string
	// Differs marks a property the runs do not agree on. Run IDs and
	// times always differ and are not marked.
	Differs bool
}

// fingerprintRows lists every property any run records, in a fixed order:
// the run, the dataplane, the nodes by role, the tools, the configuration
// and the extra values.
func fingerprintRows(cols []Column) []FingerprintRow {
	var rows []FingerprintRow
	add := func(name string, marked bool, get func(report.Manifest) string) {
		r := FingerprintRow{Name: name}
		for _, c := range cols {
			v := get(c.Run.Manifest)
			if v == "" {
				v = "—"
			}
			r.Values = append(r.Values, v)
		}
		r.Differs = marked && slices.ContainsFunc(r.Values, func(v string) bool { return v != r.Values[0] })
		rows = append(rows, r)
	}
	add("run ID", false, func(m report.Manifest) string { return m.ID })
	add("started", false, func(m report.Manifest) string { return stamp(m.Started) })
	add("finished", false, func(m report.Manifest) string { return stamp(m.Finished) })
	fp := func(f func(report.Fingerprint) string) func(report.Manifest) string {
		return func(m report.Manifest) string { return f(m.Fingerprint) }
	}
	add("dataplane", true, fp(func(f report.Fingerprint) string { return f.Dataplane }))
	add("dataplane version", true, fp(func(f report.Fingerprint) string { return f.DataplaneVersion }))
	add("kube-proxy mode", true, fp(func(f report.Fingerprint) string { return f.KubeProxyMode }))
	add("Kubernetes", true, fp(func(f report.Fingerprint) string { return f.KubernetesVersion }))
	add("kernel", true, fp(func(f report.Fingerprint) string { return f.Kernel }))
	nodes := func(f report.Fingerprint) []report.Node { return f.Nodes }
	for _, role := range union(cols, names(nodes, func(n report.Node) string { return n.Role })) {
		add("node "+role, true, fp(shown(nodes, func(n report.Node) bool { return n.Role == role },
			func(n report.Node) []string { return []string{n.Name, n.InstanceType, n.Kernel} })))
	}
	tools := func(f report.Fingerprint) []report.Tool { return f.Tools }
	for _, tool := range union(cols, names(tools, func(t report.Tool) string { return t.Name })) {
		add("tool "+tool, true, fp(shown(tools, func(t report.Tool) bool { return t.Name == tool },
			func(t report.Tool) []string {
				id := t.ImageID
				if len(id) > 19 {
					id = id[:19] + "…"
				}
				return []string{t.Image, t.Version, id}
			})))
	}
	for _, k := range union(cols, func(f report.Fingerprint) []string { return keys(f.Config) }) {
		add("config "+k, true, fp(func(f report.Fingerprint) string { return f.Config[k] }))
	}
	for _, k := range union(cols, func(f report.Fingerprint) []string { return keys(f.Extra) }) {
		add(k, true, fp(func(f report.Fingerprint) string { return f.Extra[k] }))
	}
	return rows
}

// names lists the name of every item of a fingerprint (a node's role, a
// tool's name).
func names[T any](items func(report.Fingerprint) []T, name func(T) string) func(report.Fingerprint) []string {
	return func(f report.Fingerprint) []string {
		var out []string
		for _, it := range items(f) {
			out = append(out, name(it))
		}
		return out
	}
}

// shown renders a fingerprint's items that match: each its non-empty
// fields joined by spaces, the items by "; ".
func shown[T any](items func(report.Fingerprint) []T, match func(T) bool, fields func(T) []string) func(report.Fingerprint) string {
	return func(f report.Fingerprint) string {
		var out []string
		for _, it := range items(f) {
			if match(it) {
				out = append(out, strings.Join(nonEmpty(fields(it)...), " "))
			}
		}
		return strings.Join(out, "; ")
	}
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "not finished"
	}
	return t.UTC().Format(time.RFC3339)
}

// union is the sorted set of names f lists over all columns.
func union(cols []Column, f func(report.Fingerprint) []string) []string {
	seen := map[string]bool{}
	for _, c := range cols {
		for _, n := range f(c.Run.Manifest.Fingerprint) {
			seen[n] = true
		}
	}
	return keys(seen)
}

func keys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// differing names the fingerprint properties marked as differing.
func differing(rows []FingerprintRow) string {
	var out []string
	for _, r := range rows {
		if r.Differs {
			out = append(out, r.Name)
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return fmt.Sprintf("%d: %s", len(out), strings.Join(out, ", "))
}
