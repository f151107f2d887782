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
	for _, role := range union(cols, func(f report.Fingerprint) []string {
		var out []string
		for _, n := range f.Nodes {
			out = append(out, n.Role)
		}
		return out
	}) {
		add("node "+role, true, fp(func(f report.Fingerprint) string {
			var out []string
			for _, n := range f.Nodes {
				if n.Role == role {
					out = append(out, strings.Join(nonEmpty(n.Name, n.InstanceType, n.Kernel), " "))
				}
			}
			return strings.Join(out, "; ")
		}))
	}
	for _, tool := range union(cols, func(f report.Fingerprint) []string {
		var out []string
		for _, t := range f.Tools {
			out = append(out, t.Name)
		}
		return out
	}) {
		add("tool "+tool, true, fp(func(f report.Fingerprint) string {
			var out []string
			for _, t := range f.Tools {
				if t.Name == tool {
					id := t.ImageID
					if len(id) > 19 {
						id = id[:19] + "…"
					}
					out = append(out, strings.Join(nonEmpty(t.Image, t.Version, id), " "))
				}
			}
			return strings.Join(out, "; ")
		}))
	}
	for _, k := range union(cols, func(f report.Fingerprint) []string { return keys(f.Config) }) {
		add("config "+k, true, fp(func(f report.Fingerprint) string { return f.Config[k] }))
	}
	for _, k := range union(cols, func(f report.Fingerprint) []string { return keys(f.Extra) }) {
		add(k, true, fp(func(f report.Fingerprint) string { return f.Extra[k] }))
	}
	return rows
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
