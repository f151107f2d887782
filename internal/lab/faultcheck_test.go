//go:build linux

package lab

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"kube-netbench/internal/report"
	"kube-netbench/internal/results"
)

// caseTally is one RPS case's outcome in the results: its samples and its
// failed rounds.
type caseTally struct {
	samples  int
	failures []report.Failure
}

// requireFaultRecorded reads the faulted run's results: the RPS dimension
// is in error, and its results are as faultProblems wants them.
func requireFaultRecorded(t *testing.T, dir string, f faultCase, client, log string) {
	t.Helper()
	loaded, err := results.Read(dir)
	require.NoError(t, err, "the faulted run's results")
	var run *report.Run
	for _, d := range loaded.Runs {
		if d.Dimension.Name == report.DimRPS {
			require.Equal(t, report.StatusError, d.Dimension.Status, "rps dimension: %s", d.Dimension.Message)
			run = &d.Run
		}
	}
	require.NotNil(t, run, "no rps results in %s", dir)
	for _, r := range run.Results {
		t.Logf("results: %v: %d failures %+v", r.Keys, len(r.Failures), r.Failures)
	}
	require.Empty(t, faultProblems(*run, f, client, log), "the faulted run's results")
}

// faultProblems checks a faulted run's RPS results: the faulted round of
// the case is one failure whose reason matches; after a run-on fault every
// case has a sample or a failure for each round, after a stopping one no
// case has anything after the faulted round and no later round started.
// It returns what is wrong, one line each.
func faultProblems(run report.Run, f faultCase, client, log string) []string {
	tally, probs := rpsTally(run)
	reason := regexp.MustCompile("(?i)" + strings.ReplaceAll(f.reason, "{client}", regexp.QuoteMeta(client)))
	faulted := tally[f.rpsCase]
	if faulted == nil {
		return append(probs, fmt.Sprintf("no result for %s", f.rpsCase))
	}
	var hit []report.Failure
	for _, fl := range faulted.failures {
		if fl.Round == f.round {
			hit = append(hit, fl)
		}
	}
	switch {
	case len(hit) != 1:
		probs = append(probs, fmt.Sprintf("%s: %d failures in round %d, want 1 (failures %+v)", f.rpsCase, len(hit), f.round, faulted.failures))
	case !reason.MatchString(hit[0].Reason):
		probs = append(probs, fmt.Sprintf("%s round %d: reason %q does not match %s", f.rpsCase, f.round, hit[0].Reason, reason))
	}
	names := make([]string, 0, len(tally))
	for name := range tally {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		c := tally[name]
		if !f.stops {
			if n := c.samples + len(c.failures); n != faultRounds {
				probs = append(probs, fmt.Sprintf("%s: %d samples and %d failures, want %d rounds in all", name, c.samples, len(c.failures), faultRounds))
			}
			continue
		}
		for _, fl := range c.failures {
			if fl.Round > f.round {
				probs = append(probs, fmt.Sprintf("%s: a failure in round %d, after the dimension should have stopped: %s", name, fl.Round, fl.Reason))
			}
		}
		if n := c.samples + len(c.failures); n > f.round {
			probs = append(probs, fmt.Sprintf("%s: %d samples and %d failures, more than the %d rounds before the stop", name, c.samples, len(c.failures), f.round))
		}
	}
	if f.stops {
		if next := fmt.Sprintf("round %d of ", f.round+1); strings.Contains(log, next) {
			probs = append(probs, fmt.Sprintf("the suite logged %q: a round started after the dimension should have stopped", next))
		}
	} else if len(tally) != 4 {
		probs = append(probs, fmt.Sprintf("%d RPS cases have a result, want 4: %v", len(tally), names))
	}
	return probs
}

// rpsTally maps each RPS result to its case as the suite logs it ("svc c64
// keepalive"), with what is wrong with the results themselves.
func rpsTally(run report.Run) (map[string]*caseTally, []string) {
	tally := map[string]*caseTally{}
	var probs []string
	for _, res := range run.Results {
		if res.Name != "RPS" {
			continue
		}
		keys := map[string]string{}
		for _, kv := range res.Keys {
			keys[kv.Key] = kv.Value
		}
		name := fmt.Sprintf("%s c%s %s", keys["target"], keys["c"], keys["conn"])
		c := &caseTally{failures: res.Failures}
		for _, m := range res.Metrics {
			if m.Unit == report.UnitReqPerSec {
				c.samples = len(m.Samples)
			}
		}
		if tally[name] != nil {
			probs = append(probs, "two results for "+name)
		}
		tally[name] = c
	}
	return tally, probs
}

// rpsResult is an RPS result as the suite writes it, for the checks'
// tests: samples req/s values, and failures in the given rounds.
func rpsResult(rpsCase string, samples int, reason string, failedRounds ...int) report.Result {
	w := strings.Fields(rpsCase) // "svc c64 keepalive"
	r := report.Result{Name: "RPS", Keys: []report.KV{{Key: "dataplane", Value: "iptables"},
		{Key: "target", Value: w[0]}, {Key: "conn", Value: w[2]}, {Key: "c", Value: strings.TrimPrefix(w[1], "c")}}}
	if samples > 0 {
		r.Metrics = []report.Metric{{Unit: report.UnitReqPerSec, Samples: make([]float64, samples)}}
	}
	for _, round := range failedRounds {
		r.Failures = append(r.Failures, report.Failure{Round: round, Reason: reason})
	}
	return r
}

func TestFaultProblems(t *testing.T) {
	kill := faultCase{round: 2, rpsCase: "svc c64 keepalive", reason: `kube-proxy.*restarted`}
	kubelet := faultCase{round: 2, rpsCase: "svc c64 keepalive", reason: `kubelet on {client}`}
	deletion := faultCase{round: 2, rpsCase: "svc c256 keepalive", reason: `fortio-server.*(deleted|gone)`, stops: true}
	full := func(faulted report.Result) report.Run {
		return report.Run{Results: []report.Result{rpsResult("pod c64 keepalive", 3, ""), faulted,
			rpsResult("svc c256 keepalive", 3, ""), rpsResult("svc c64 short", 3, "")}}
	}
	for _, tc := range []struct {
		name   string
		f      faultCase
		run    report.Run
		log    string
		client string
		want   []string // substrings, one per problem
	}{
		{name: "run-on fault recorded", f: kill,
			run: full(rpsResult("svc c64 keepalive", 2, "kube-proxy on nb-node-2 restarted (restarts 0 -> 1)", 2))},
		{name: "a sample where the fault was", f: kill,
			run:  full(rpsResult("svc c64 keepalive", 3, "")),
			want: []string{"0 failures in round 2, want 1"}},
		{name: "failure in another round", f: kill,
			run:  full(rpsResult("svc c64 keepalive", 2, "kube-proxy restarted", 3)),
			want: []string{"0 failures in round 2, want 1"}},
		{name: "another reason", f: kill,
			run:  full(rpsResult("svc c64 keepalive", 2, "fortio: 3 socket errors", 2)),
			want: []string{`reason "fortio: 3 socket errors" does not match`}},
		{name: "the client node in the reason", f: kubelet, client: "nb-node-2",
			run: full(rpsResult("svc c64 keepalive", 2, "Kubelet on nb-node-2 not answering", 2))},
		{name: "the other node in the reason", f: kubelet, client: "nb-node-2",
			run:  full(rpsResult("svc c64 keepalive", 2, "kubelet on nb-node-1 not answering", 2)),
			want: []string{"does not match"}},
		{name: "a round lost", f: kill,
			run:  full(rpsResult("svc c64 keepalive", 1, "kube-proxy restarted", 2)),
			want: []string{"svc c64 keepalive: 1 samples and 1 failures, want 3"}},
		{name: "a case missing", f: kill,
			run:  report.Run{Results: []report.Result{rpsResult("svc c64 keepalive", 2, "kube-proxy restarted", 2)}},
			want: []string{"1 RPS cases have a result, want 4"}},
		{name: "no result for the faulted case", f: kill, run: report.Run{},
			want: []string{"no result for svc c64 keepalive"}},
		{name: "stopped after the deletion", f: deletion, log: "round 2 of 3: svc c256 keepalive ...",
			run: report.Run{Results: []report.Result{rpsResult("svc c64 short", 2, ""),
				rpsResult("svc c256 keepalive", 1, "fortio-server deleted", 2),
				rpsResult("svc c64 keepalive", 1, "fortio-server gone", 2), rpsResult("pod c64 keepalive", 1, "")}}},
		{name: "went on after the deletion", f: deletion, log: "round 3 of 3: pod c64 keepalive ...",
			run: report.Run{Results: []report.Result{rpsResult("svc c64 short", 3, ""),
				rpsResult("svc c256 keepalive", 1, "fortio-server deleted", 2, 3), rpsResult("pod c64 keepalive", 1, "")}},
			want: []string{"a failure in round 3", "svc c256 keepalive: 1 samples and 2 failures, more than the 2 rounds",
				"svc c64 short: 3 samples and 0 failures, more than", `logged "round 3 of "`}},
		{name: "two results for a case", f: kill,
			run: report.Run{Results: append(full(rpsResult("svc c64 keepalive", 2, "kube-proxy restarted", 2)).Results,
				rpsResult("pod c64 keepalive", 3, ""))},
			want: []string{"two results for pod c64 keepalive"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := faultProblems(tc.run, tc.f, tc.client, tc.log)
			require.Len(t, got, len(tc.want), "problems: %q", got)
			for i, w := range tc.want {
				require.Contains(t, got[i], w)
			}
		})
	}
}

func TestFaultLines(t *testing.T) {
	at, ended := faultCase{round: 2, rpsCase: "svc c64 short"}.lines()
	require.Regexp(t, at, "rps_test.go:150: [+1m2.5s] round 2 of 3: svc c64 short ...")
	for _, l := range []string{
		"rps_test.go:150: [+1m7.6s] round 2 of 3: svc c64 short done in 5.1s",
		"rps_test.go:150: [+1m2.5s] round 2 of 3: svc c64 keepalive ...",
		"rps_test.go:150: [+2m2.5s] round 3 of 3: svc c64 short ...",
		"rps_test.go:146: round 2, svc c64 short: server TIME_WAIT 12 after waiting 3s",
	} {
		require.NotRegexp(t, at, l)
		require.NotRegexp(t, ended, l)
	}
	require.Regexp(t, ended, "rps_test.go:173: round 2, svc c64 short: 10234 req/s, p50 1ms, p99 4ms, 51000 calls all 200")
	require.Regexp(t, ended, "rps_test.go:160: round 2, svc c64 short: broken measurement, no sample: fortio: 12 socket errors")
	m := suiteNodes.FindStringSubmatch("dimension_test.go:154: dataplane kube-proxy-iptables; server node nb-node-1, client node nb-node-2")
	require.Equal(t, []string{"nb-node-1", "nb-node-2"}, m[1:])
}
