package runreport

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"kube-netbench/internal/bench"
)

// Finding kinds, in the order the report lists them.
const (
	FindingBroken     = "broken measurements"
	FindingRounds     = "too few rounds"
	FindingSaturation = "saturated client"
	FindingDrift      = "drift"
	FindingBPF        = "BPF map pressure"
)

// Finding is one thing a reader must know before trusting a number.
type Finding struct {
	Kind, Text string
}

// lbMapKey is the fingerprint's record of Cilium's bpf-lb-map-max.
const lbMapKey = "cilium-config-bpf-lb-map-max"

// lbEntriesPerService is the observed fill of Cilium's service map per
// Service beyond its endpoints: about 20 % above the seed's endpoints + 1
// (W-BUG-7), i.e. ≈ 6 entries for 4 endpoints.
const lbEntriesPerService = 2

func findings(cols []Column, short, keepalive []Curve) []Finding {
	var out []Finding
	for _, c := range cols {
		out = append(out, brokenFindings(c)...)
	}
	for _, c := range cols {
		out = append(out, roundsFinding(c)...)
	}
	for _, c := range cols {
		out = append(out, saturationFindings(c)...)
	}
	for _, cs := range [][]Curve{short, keepalive} {
		for _, cv := range cs {
			if f, ok := driftFinding(cols[cv.Column], cv); ok {
				out = append(out, f)
			}
		}
	}
	for _, c := range cols {
		if f, ok := bpfFinding(c); ok {
			out = append(out, f)
		}
	}
	return out
}

// brokenFindings names every round whose measurement broke, per result:
// the run has no number for it, and says why.
func brokenFindings(c Column) []Finding {
	var out []Finding
	for _, dr := range c.Run.Runs {
		for _, r := range dr.Run.Results {
			if len(r.Failures) == 0 {
				continue
			}
			why := make([]string, len(r.Failures))
			for i, f := range r.Failures {
				why[i] = fmt.Sprintf("round %d: %s", f.Round, f.Reason)
			}
			out = append(out, Finding{FindingBroken, fmt.Sprintf("%s: %s: %d of its rounds gave no sample (%s)",
				c.Label, r.BenchmarkName(), len(r.Failures), strings.Join(why, "; "))})
		}
	}
	return out
}

// roundsFinding counts the run's metrics without a 95 % interval.
func roundsFinding(c Column) []Finding {
	n, of := 0, 0
	for _, dr := range c.Run.Runs {
		for _, r := range dr.Run.Results {
			for _, m := range r.Metrics {
				of++
				if !m.Summary.Bounded() {
					n++
				}
			}
		}
	}
	if n == 0 {
		return nil
	}
	rounds := c.Run.Manifest.Fingerprint.Config["ROUNDS"]
	if rounds == "" {
		rounds = "not recorded"
	}
	return []Finding{{FindingRounds, fmt.Sprintf("%s: %d of %d metrics have fewer than 6 samples and so no 95 %% interval (ROUNDS=%s): "+
		"their medians are single observations of noise, not results; measure with ROUNDS=6 or more before deciding anything on them (W-STAT-1)",
		c.Label, n, of, rounds)}}
}

// saturationFindings reads the client's busy CPU share the suite keeps in
// a result's Raw (client_node_cpu_busy, per round), and iperf3's client
// CPU against the workload's CPU limit.
func saturationFindings(c Column) []Finding {
	var out []Finding
	limit, hasLimit := cpuLimitPct(c.Run.Manifest.Fingerprint.Config["WORKLOAD_CPU"])
	for _, dr := range c.Run.Runs {
		var busy, capped []string
		for _, r := range dr.Run.Results {
			var raw struct {
				Busy []float64 `json:"client_node_cpu_busy"`
			}
			if len(r.Raw) > 0 && json.Unmarshal(r.Raw, &raw) == nil {
				n, of := 0, 0
				for _, v := range raw.Busy {
					if v >= 0 {
						of++
						if v >= bench.SaturationThreshold {
							n++
						}
					}
				}
				if n > 0 {
					busy = append(busy, fmt.Sprintf("%s (%d of %d rounds)", config(r), n, of))
				}
			}
			if m, ok := metric(r, "client-cpu-%"); ok && hasLimit && m.Summary.Center >= 0.9*limit {
				capped = append(capped, fmt.Sprintf("%s (median %s %%)", config(r), num(m.Summary.Center)))
			}
		}
		if len(busy) > 0 {
			out = append(out, Finding{FindingSaturation, fmt.Sprintf("%s %s: the client's node was at least %.0f %% busy in %s: the load generator may be the bottleneck, not the dataplane (W-STAT-6)",
				c.Label, dr.Dimension.Name, bench.SaturationThreshold*100, strings.Join(busy, ", "))})
		}
		if len(capped) > 0 {
			out = append(out, Finding{FindingSaturation, fmt.Sprintf("%s %s: the client used at least 90 %% of its CPU limit (WORKLOAD_CPU=%s, %s %% of one CPU) in %s: "+
				"these figures measure the client's CPU budget, not the dataplane (W-STAT-6, W-STAT-7)",
				c.Label, dr.Dimension.Name, c.Run.Manifest.Fingerprint.Config["WORKLOAD_CPU"], num(limit), strings.Join(capped, ", "))})
		}
	}
	return out
}

// cpuLimitPct is a Kubernetes CPU quantity as a percentage of one CPU,
// the unit iperf3 reports its own CPU time in.
func cpuLimitPct(q string) (float64, bool) {
	if q == "" {
		return 0, false
	}
	v, err := resource.ParseQuantity(q)
	if err != nil || v.MilliValue() <= 0 {
		return 0, false
	}
	return float64(v.MilliValue()) / 10, true
}

// driftFinding compares the closing baseline with the first (W-STAT-3) by
// the interval of their change, the one the finding prints: when it
// excludes 0 the run drifted. Whether the two baselines' own intervals
// overlap is no test: they overlap for many differences the change's
// interval resolves (a native run's -17.6 % [-24.0, -3.2] did).
func driftFinding(c Column, cv Curve) (Finding, bool) {
	if cv.Closing == nil || cv.Closing.Change == nil {
		return Finding{}, false
	}
	ch := *cv.Closing.Change
	what := fmt.Sprintf("%s ServiceScale %s: the 0-Service baseline measured again after deleting the Services, against the first: %s",
		c.Label, cv.Conn, pct(ch))
	switch {
	case !ch.Bounded():
		return Finding{FindingDrift, what + "; cannot be judged: no interval (n<6)"}, true
	case ch.Lo > 0 || ch.Hi < 0:
		return Finding{FindingDrift, what + "; the change's 95 % interval excludes 0: the run drifted, and its step changes mix drift with the Services' effect"}, true
	}
	return Finding{FindingDrift, what + "; the change's 95 % interval includes 0: no drift detected"}, true
}

// bpfFinding estimates the Cilium service map's fill at the largest step
// against bpf-lb-map-max: a full map drops connections, which reads as a
// collapse of req/s that is not O(n) degradation.
func bpfFinding(c Column) (Finding, bool) {
	fp := c.Run.Manifest.Fingerprint
	_, run, ok := c.dimension(scaleDimension)
	if !ok || run == nil {
		return Finding{}, false
	}
	top := 0
	for _, r := range run.Results {
		if n, err := strconv.Atoi(key(r, "svc")); err == nil {
			top = max(top, n)
		}
	}
	maxEntries, hasMax := fp.Extra[lbMapKey]
	cilium := strings.HasPrefix(fp.Dataplane, "cilium") || hasMax
	if !cilium || top == 0 {
		return Finding{}, false
	}
	if !hasMax {
		return Finding{FindingBPF, fmt.Sprintf("%s: %s is not recorded: whether %s Services fit Cilium's service map cannot be told", c.Label, lbMapKey, thousands(float64(top)))}, true
	}
	mx, err := strconv.Atoi(maxEntries)
	eps, err2 := strconv.Atoi(fp.Config["SVC_ENDPOINTS"])
	if err != nil || err2 != nil || mx <= 0 {
		return Finding{FindingBPF, fmt.Sprintf("%s: cannot estimate the service map's fill: %s=%q, SVC_ENDPOINTS=%q", c.Label, lbMapKey, maxEntries, fp.Config["SVC_ENDPOINTS"])}, true
	}
	need := top * (eps + lbEntriesPerService)
	share := float64(need) / float64(mx) * 100
	text := fmt.Sprintf("%s: at %s Services of %d endpoints the service map needs ≈ %s entries (%d per Service, as observed; W-BUG-7) of %s=%s: %.0f %%",
		c.Label, thousands(float64(top)), eps, thousands(float64(need)), eps+lbEntriesPerService, lbMapKey, thousands(float64(mx)), math.Round(share))
	switch {
	case share >= 100:
		text += ": it overflows; the largest steps measure dropped Services, not the lookup's cost"
	case share >= 80:
		text += ": close to full; a larger step or more endpoints overflow it"
	default:
		return Finding{}, false
	}
	return Finding{FindingBPF, text}, true
}
