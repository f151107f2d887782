package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"kube-netbench/fixtures"
	"kube-netbench/internal/config"
	"kube-netbench/internal/dataplane"
	"kube-netbench/internal/kube"
	"kube-netbench/internal/progress"
	"kube-netbench/internal/provenance"
	"kube-netbench/internal/report"
	"kube-netbench/internal/results"
	"kube-netbench/internal/scaleresult"
	"kube-netbench/internal/stats"
)

// dimension is the state every datapath feature (throughput, RPS, latency)
// shares: its run, the detected dataplane, the configuration and profile,
// and the results it writes to results/<name>-<dataplane>.{bench.txt,json}.
type dimension struct {
	*run
	*outcome
	name     string
	cfg      config.Config
	profile  config.Profile
	det      dataplane.Detection
	started  time.Time
	progress *progress.Tracker
	results  []report.Result
	tools    []report.Tool
	// out is where write puts the results: the run's directory unless set.
	out *results.Dir
}

// newDimension gives the dimension its own copy of the run's settings and
// the profile, validated by TestMain before anything was created.
func newDimension(t *testing.T, name string) *dimension {
	t.Helper()
	return &dimension{name: name, outcome: recordOutcome(t, name), cfg: suite.Config.Clone(), profile: suite.Profile, progress: progress.New(nil)}
}

// feature is a dimension's e2e-framework feature: labelled dimension=<name>
// and tier=full plus labels ("key=value"), its setup, assessments in order
// and an optional teardown.
type feature struct {
	title    string
	labels   []string
	setup    features.Func
	assess   []step
	teardown features.Func
}

// step is one assessment.
type step struct {
	name string
	fn   features.Func
}

// test runs the dimension's feature.
func (d *dimension) test(t *testing.T, f feature) {
	t.Helper()
	b := features.New(f.title).WithLabel("dimension", d.name).WithLabel("tier", "full")
	for _, kv := range f.labels {
		k, v, _ := strings.Cut(kv, "=")
		b = b.WithLabel(k, v)
	}
	b = b.Setup(f.setup)
	for _, a := range f.assess {
		b = b.Assess(a.name, a.fn)
	}
	if f.teardown != nil {
		b = b.Teardown(f.teardown)
	}
	testEnv.Test(t, b.Feature())
}

// outcome is what a dimension's entry in the run's manifest says when its
// test ends: passed, failed, or skipped with the reason it gave.
type outcome struct {
	name, skipped string
	notes         []string
	// started is set by the feature's setup: a feature the framework did
	// not start (labels, -skip-assessment) has no entry.
	started bool
	// failures are the failed samples per case label, broken their
	// reasons for the manifest: a measurement broke.
	failures map[string][]report.Failure
	broken   []string
}

// recordOutcome records the dimension's status in the run's manifest when
// its test (every feature step included) has ended.
func recordOutcome(t *testing.T, name string) *outcome {
	o := &outcome{name: name}
	t.Cleanup(func() {
		if !o.started && !t.Failed() {
			return
		}
		status, msg := report.StatusPassed, strings.Join(o.notes, "; ")
		switch {
		case len(o.broken) > 0:
			// A broken measurement is not a violated bound: the manifest
			// says which rounds broke and why, whatever else failed.
			status, msg = report.StatusError, fmt.Sprintf("%d failed samples (a broken measurement, not a regression): %s",
				len(o.broken), strings.Join(o.broken, "; "))
		case t.Failed():
			status, msg = report.StatusFailed, "a check failed or a measurement broke (the test log says which)"
		case !resultsDir.Has(name) && o.skipped != "":
			status, msg = report.StatusSkipped, o.skipped
		case !resultsDir.Has(name):
			status, msg = report.StatusError, "the dimension ended without writing results"
		}
		if err := resultsDir.Record(name, status, msg); err != nil {
			t.Errorf("results: %v", err)
		}
	})
	return o
}

// skipf skips the dimension, and the manifest gives the reason.
func (o *outcome) skipf(t *testing.T, format string, args ...any) {
	t.Helper()
	o.skipped = fmt.Sprintf(format, args...)
	o.notes = append(o.notes, "not measured: "+o.skipped)
	t.Skip(o.skipped)
}

// partSkipf skips one part of the dimension; the manifest notes it.
func (o *outcome) partSkipf(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	o.notes = append(o.notes, "not measured: "+msg)
	t.Skip(msg)
}

// workloadResources is the configuration's sizing of the workload pods.
func workloadResources(c config.Config) fixtures.Resources {
	return fixtures.Resources{QoS: c.Workload.QoS, CPU: c.Workload.CPU, Memory: c.Workload.Memory}
}

// start creates the run (namespace, two workers) and detects the dataplane.
func (d *dimension) start(ctx context.Context, t *testing.T, cfg *envconf.Config) {
	t.Helper()
	d.outcome.started = true
	d.started = time.Now()
	d.progress = progress.New(nil)
	d.run = startRun(ctx, t, cfg, d.name, 2)
	d.run.res = workloadResources(d.cfg)
	det, err := detect(ctx, d.run)
	if err != nil {
		t.Fatalf("detect the dataplane: %v", err)
	}
	d.det = det
	t.Logf("dataplane %s; server node %s, client node %s", det.Kind, d.nodes[0].Name, d.nodes[1].Name)
	logDetection(t, det)
	d.guardWith(ctx, t, det)
}

// logDetection says what decided the dataplane: which source gave
// kube-proxy's mode on each node, and a managed Cilium's limits.
func logDetection(t *testing.T, det dataplane.Detection) {
	t.Helper()
	if kp := det.KubeProxy; kp != nil {
		where := "kube-proxy pods in " + kp.Namespace
		if kp.Embedded {
			where = "kube-proxy embedded in the node's agent (no pod)"
		}
		t.Logf("kube-proxy mode %s (%s): %s", kp.Mode, where, kp.Decided())
	}
	if c := det.Cilium; c != nil && c.Managed != "" {
		t.Logf("%s (Cilium agents in %s, managed by the provider): %v", c.Managed, c.Namespace, c.Readable())
	}
}

// add records one result.
func (d *dimension) add(name string, keys []report.KV, metrics ...report.Metric) {
	d.results = append(d.results, report.Result{Name: name,
		Keys:    append([]report.KV{{Key: "dataplane", Value: d.dataplaneKey()}}, keys...),
		Metrics: metrics})
}

// addCase records one case's result with its failed samples (the case's
// label is the one its rounds gave measureRound); a case whose every round
// broke is a result with failures and no metric.
func (d *dimension) addCase(label, name string, keys []report.KV, metrics ...report.Metric) {
	f := d.failures[label]
	if len(metrics) == 0 && len(f) == 0 {
		return
	}
	d.add(name, keys, metrics...)
	d.results[len(d.results)-1].Failures = f
}

// dataplaneKey is the short dataplane name in benchmark names
// (dataplane=iptables), so that benchstat can pivot on it.
func (d *dimension) dataplaneKey() string { return dataplaneKey(d.det) }

// dataplaneKey is the dataplane as benchmark names carry it: kube-proxy's
// mode (iptables, nftables, ipvs), or the Cilium kind (cilium-overlay,
// cilium-native).
func dataplaneKey(det dataplane.Detection) string {
	if det.Cilium == nil && det.KubeProxy != nil {
		return det.KubeProxy.Mode
	}
	return string(det.Kind)
}

// detect reads the run's dataplane, with a deadline for the execs into the
// agents.
func detect(ctx context.Context, r *run) (dataplane.Detection, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return dataplane.Detect(ctx, r.client, r.exec, dataplane.Options{Nodes: r.nodeNames(), Probe: r.proxyMode})
}

// proxyMode reads kube-proxy's /proxyMode on node with a one-shot
// hostNetwork busybox in the run's host namespace: kube-proxy's metrics
// port listens on the node's loopback, and its own image has no HTTP
// client.
func (r *run) proxyMode(ctx context.Context, node, url string) (string, error) {
	return kube.RunPod(ctx, r.client, fixtures.ProxyModeProbe(r.hostNS, "proxymode-"+node, r.id, node, url, r.res))
}

// write puts the results in the run's results directory: benchmark format
// (benchstat-ready) and JSON; a write failure fails the test.
func (d *dimension) write(t *testing.T) {
	t.Helper()
	if len(d.results) == 0 {
		t.Errorf("%s: no result to write", d.name)
		return
	}
	out := d.out
	if out == nil {
		out = resultsDir
	}
	r := report.Run{ID: out.Manifest().ID, Started: d.started, Finished: time.Now(),
		Fingerprint: fingerprint(d.run, d.det, d.cfg, d.tools), Results: d.results}
	putResults(t, out, d.name, r)
}

// putResults writes a dimension's results and views into the run's
// directory, with the status so far (the outcome's record has the final).
func putResults(t *testing.T, dir *results.Dir, name string, r report.Run, views ...results.View) {
	t.Helper()
	status := report.StatusPassed
	if t.Failed() {
		status = report.StatusFailed
	}
	if err := dir.Put(name, r, status, "", views...); err != nil {
		t.Errorf("results: %v", err)
		return
	}
	t.Logf("results: %s/%s.{json,bench.txt}", dir.Path, name)
}

// fingerprint records where the numbers come from (internal/provenance),
// with the image IDs the run's pods report and the apiserver's version.
func fingerprint(r *run, det dataplane.Detection, cfg config.Config, tools []report.Tool) report.Fingerprint {
	in := provenance.Inputs{Detection: det, Config: cfg, Tools: tools, Workload: r.res.Describe(), Nodes: r.nodes,
		Suite: suiteBinary}
	in.Images, in.ImagesErr = runImages(r)
	if v, err := r.client.Discovery().ServerVersion(); err == nil {
		in.ServerVersion = v.GitVersion
	}
	return provenance.Fingerprint(in)
}

// abba returns the scenarios of a round in ABBA order: odd rounds as
// listed, even rounds reversed, so that drift hits every scenario alike
// (W-STAT-3).
func abba[T any](scenarios []T, round int) []T {
	order := slices.Clone(scenarios)
	if round%2 == 0 {
		slices.Reverse(order)
	}
	return order
}

// judgePaired compares treatment with baseline pair by pair (the rounds ran
// them back to back), logs the change and checks it against the profile's
// bound (nil: reported only).
func judgePaired(t *testing.T, base, treat []float64, b *stats.Bound, metric string) {
	t.Helper()
	judge(t, b, metric, pairedChange(t, base, treat, metric))
}

// byRound pairs two cases' samples by the round that gave them (aRounds[i]
// gave a[i]): a round that broke in either case gives no pair.
func byRound(aRounds []int, a []float64, bRounds []int, b []float64) (x, y []float64) {
	at := make(map[int]float64, len(bRounds))
	for i, r := range bRounds {
		at[r] = b[i]
	}
	for i, r := range aRounds {
		if v, ok := at[r]; ok {
			x, y = append(x, a[i]), append(y, v)
		}
	}
	return x, y
}

// pairedChange is the change of treat against base, pair by pair, with its
// interval, logged; no complete pair fails the test.
func pairedChange(t *testing.T, base, treat []float64, metric string) stats.Comparison {
	t.Helper()
	if len(base) != len(treat) || len(base) == 0 {
		t.Fatalf("%s: no complete pairs (%d baseline, %d treatment samples): see the failed rounds above", metric, len(base), len(treat))
	}
	pairs := make([][2]float64, len(base))
	for i := range pairs {
		pairs[i] = [2]float64{base[i], treat[i]}
	}
	c, err := stats.PairedChange(pairs, stats.DefaultConfidence)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %s", metric, scaleresult.Describe(c))
	return c
}
