package runreport

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"kube-netbench/internal/report"
	"kube-netbench/internal/results"
)

// Column is one run, one column of every table.
type Column struct {
	// Label names the column: the run's dataplane key (iptables,
	// cilium-overlay, ...), with the run ID when two runs share it.
	Label string
	// Dataplane is the dataplane key of the run's results.
	Dataplane string
	Run       results.Loaded
}

// dimension finds the run's entry for a dimension.
func (c Column) dimension(name string) (report.Dimension, *report.Run, bool) {
	for i, dr := range c.Run.Runs {
		if dr.Dimension.Name == name {
			return dr.Dimension, &c.Run.Runs[i].Run, true
		}
	}
	for _, d := range c.Run.Manifest.Dimensions {
		if d.Name == name {
			return d, nil, true
		}
	}
	return report.Dimension{}, nil, false
}

// dataplaneOrder sorts columns the way the study reads: kube-proxy modes,
// then Cilium; anything else after, by name.
var dataplaneOrder = []string{"iptables", "ipvs", "nftables", "cilium-native", "cilium-overlay"}

// Columns checks the runs and orders them. Every result's first key must
// be dataplane, and one run must not mix dataplanes: a report column is
// one dataplane's run.
func Columns(runs []results.Loaded) ([]Column, error) {
	if len(runs) == 0 {
		return nil, errors.New("no run given")
	}
	var cols []Column
	var errs []error
	ids := map[string]string{}
	for _, l := range runs {
		if prev, ok := ids[l.Manifest.ID]; ok {
			errs = append(errs, fmt.Errorf("%s and %s are the same run (ID %s)", prev, l.Dir, l.Manifest.ID))
			continue
		}
		ids[l.Manifest.ID] = l.Dir
		dp, err := runDataplane(l)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", l.Dir, err))
			continue
		}
		cols = append(cols, Column{Label: dp, Dataplane: dp, Run: l})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	rank := func(dp string) int {
		if i := slices.Index(dataplaneOrder, dp); i >= 0 {
			return i
		}
		return len(dataplaneOrder)
	}
	slices.SortFunc(cols, func(a, b Column) int {
		return cmp.Or(cmp.Compare(rank(a.Dataplane), rank(b.Dataplane)), cmp.Compare(a.Dataplane, b.Dataplane),
			cmp.Compare(a.Run.Manifest.ID, b.Run.Manifest.ID))
	})
	for i := range cols {
		shared := slices.ContainsFunc(cols, func(o Column) bool {
			return o.Run.Manifest.ID != cols[i].Run.Manifest.ID && o.Dataplane == cols[i].Dataplane
		})
		if shared {
			cols[i].Label = cols[i].Dataplane + " (" + cols[i].Run.Manifest.ID + ")"
		}
	}
	return cols, nil
}

// runDataplane is the dataplane key all of a run's results carry; a run
// without results falls back to its fingerprint's dataplane.
func runDataplane(l results.Loaded) (string, error) {
	dp := ""
	for _, dr := range l.Runs {
		for _, r := range dr.Run.Results {
			if len(r.Keys) == 0 || r.Keys[0].Key != "dataplane" {
				return "", fmt.Errorf("dimension %s: result %s does not start with the dataplane key", dr.Dimension.Name, r.BenchmarkName())
			}
			switch v := r.Keys[0].Value; {
			case dp == "":
				dp = v
			case v != dp:
				return "", fmt.Errorf("dimension %s: result %s is of dataplane %s, the run's others of %s: give one run per dataplane", dr.Dimension.Name, r.BenchmarkName(), v, dp)
			}
		}
	}
	if dp == "" {
		dp = strings.TrimPrefix(l.Manifest.Fingerprint.Dataplane, "kube-proxy-")
	}
	if dp == "" {
		dp = l.Manifest.ID
	}
	return dp, nil
}

// config is a result's configuration without the dataplane key,
// "target=svc conn=short c=64".
func config(r report.Result) string {
	var parts []string
	for _, kv := range r.Keys[1:] {
		parts = append(parts, kv.Key+"="+kv.Value)
	}
	return strings.Join(parts, " ")
}

// key returns the value of a result's key, "" when absent.
func key(r report.Result, k string) string {
	for _, kv := range r.Keys {
		if kv.Key == k {
			return kv.Value
		}
	}
	return ""
}

// metric returns the result's metric of the given unit.
func metric(r report.Result, unit string) (report.Metric, bool) {
	for _, m := range r.Metrics {
		if m.Unit == unit {
			return m, true
		}
	}
	return report.Metric{}, false
}

// matches reports whether r has every key=value of want.
func matches(r report.Result, want map[string]string) bool {
	for k, v := range want {
		if key(r, k) != v {
			return false
		}
	}
	return true
}
