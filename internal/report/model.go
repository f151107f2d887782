// Package report holds the data model of a benchmark run's results and
// writes it out: in the Go benchmark format for benchstat (WriteBenchfmt)
// and as a JSON summary (WriteJSON, read back with ReadJSON). It renders
// data that measurement code produced; it measures nothing, runs nothing
// and talks to no cluster.
//
// Every output carries the run's provenance (Fingerprint: dataplane and
// Kubernetes versions, kernel, nodes, tool images, effective config) and a
// status for every scenario, so that a missing result is never mistaken
// for "not applicable" (W-OPS-8).
package report

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"kube-netbench/internal/stats"
)

// Run is everything one benchmark run produced, failed scenarios included.
type Run struct {
	// ID is the run's ID, the value of the run-ID label on everything the
	// harness created.
	ID string
	// Started and Finished bound the run; Finished is zero when the run did
	// not finish (it was interrupted).
	Started, Finished time.Time
	// Fingerprint is what was measured, for provenance.
	Fingerprint Fingerprint
	// Results are the measurements, in the order they are reported.
	Results []Result
	// Scenarios gives each scenario's status, whether or not it produced
	// results.
	Scenarios []ScenarioStatus
}

// Fingerprint is the provenance of a run: enough to tell what a number was
// measured on (W-BUG-9: the seed's results were relabelled to the wrong
// Cilium version because nothing recorded it).
//
// In the benchmark format every field becomes a file-level configuration
// line, and benchstat groups results into tables by all of them. Put here
// only what defines the experiment; values that change on every run (run
// ID, output directory, timestamps) belong in Run, or two runs of the same
// setup cannot be compared with a plain "benchstat old new".
type Fingerprint struct {
	// Dataplane names the dataplane under test, e.g. "kube-proxy-iptables",
	// "cilium-native", "cilium-overlay".
	Dataplane string
	// DataplaneVersion is its version, e.g. "v1.37.2" for kube-proxy or
	// "1.19.4" for Cilium.
	DataplaneVersion string
	// KubeProxyMode is kube-proxy's effective mode (iptables, ipvs,
	// nftables), "" when no kube-proxy runs.
	KubeProxyMode string
	// KubernetesVersion is the API server's version, e.g. "v1.37.2".
	KubernetesVersion string
	// Kernel is the nodes' kernel release when they agree; per-node
	// kernels go in Nodes.
	Kernel string
	// Nodes are the nodes the workloads ran on.
	Nodes []Node
	// Tools are the load and probe tools, with pinned images.
	Tools []Tool
	// Config is the effective configuration, e.g. ROUNDS=6.
	Config map[string]string
	// Extra is the open end: anything else worth recording, e.g.
	// "cilium-bpf-lb-map-max": "65536".
	Extra map[string]string
}

// Node is one node a workload ran on.
type Node struct {
	// Name is the node's name.
	Name string
	// Role is what the run used it for, e.g. "client" or "server".
	Role string
	// InstanceType is the node.kubernetes.io/instance-type label.
	InstanceType string
	// Kernel is the node's kernel release.
	Kernel string
}

// Tool is one load or probe tool.
type Tool struct {
	// Name, e.g. "fortio".
	Name string
	// Image is the pinned image reference, ideally with its digest.
	Image string
	// Version is what the tool reports, e.g. "1.66.5".
	Version string
	// ImageID is the image the cluster ran for Image, as pod status reports it
	// (containerStatuses[].imageID); comma-separated when nodes ran different ones.
	ImageID string
}

// KV is one ordered key=value pair of a result's configuration.
type KV struct {
	Key, Value string
}

// Result is one measured configuration, e.g. ServiceScale with
// dataplane=iptables svc=10000 conn=short, and its metrics.
type Result struct {
	// Name is the benchmark's base name, e.g. "ServiceScale".
	Name string
	// Keys are the configuration, in the order they appear in the
	// benchmark name: ServiceScale/dataplane=iptables/svc=10000/conn=short.
	Keys []KV
	// Metrics are the measured quantities, each with every sample.
	Metrics []Metric
	// Raw optionally holds raw tool outputs or their paths, as JSON. It is
	// written to the JSON summary only.
	Raw json.RawMessage
	// Failures are the rounds whose measurement broke (a server pod gone,
	// calls that failed, a dataplane agent restarted mid-run): never a
	// sample, always a reason. A result may have failures and no metrics,
	// when no round gave a sample.
	Failures []Failure
}

// MaxReason bounds a failure's reason: the test log keeps the whole of it
// (a tool's stderr can run to kilobytes).
const MaxReason = 600

// Reason makes s a failure's reason: one line (it is a comment line of the
// benchmark file), whitespace collapsed, cut to at most MaxReason bytes.
func Reason(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= MaxReason {
		return s
	}
	cut := MaxReason
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s … (%d more bytes in the test log)", s[:cut], len(s)-cut)
}

// Failure is a round that gave no sample, and why.
type Failure struct {
	// Round is the round, from 1.
	Round int
	// Reason says what broke, on one line.
	Reason string
}

// Units the suite uses; any tidy unit (see benchunit) is allowed.
const (
	UnitReqPerSec  = "req/s"
	UnitSec        = "sec"
	UnitBitsPerSec = "bits/s"
	UnitBytes      = "B"
)

// Better values.
const (
	HigherIsBetter = "higher"
	LowerIsBetter  = "lower"
)

// Metric is one measured quantity of a Result with all of its samples.
type Metric struct {
	// Unit identifies the metric within its Result and names its unit,
	// e.g. "req/s", "sec", "bits/s", "B". Two metrics of one result need
	// two units: "p50-sec" and "p99-sec".
	Unit string
	// Better is HigherIsBetter or LowerIsBetter.
	Better string
	// Samples are the per-round values, one per round, in round order.
	// A percentile's samples are its per-round values (W-STAT-2).
	Samples []float64
	// Summary summarizes Samples (stats.Summarize or
	// stats.PercentileAcrossRounds); its N must be len(Samples).
	Summary stats.Summary
}

// NewMetric returns a Metric whose Summary is stats.Summarize of samples at
// the given confidence.
func NewMetric(unit, better string, samples []float64, confidence float64) (Metric, error) {
	s, err := stats.Summarize(samples, confidence)
	if err != nil {
		return Metric{}, fmt.Errorf("metric %s: %w", unit, err)
	}
	return Metric{Unit: unit, Better: better, Samples: samples, Summary: s}, nil
}

// Scenario statuses.
const (
	StatusPassed  = "passed"
	StatusFailed  = "failed"
	StatusSkipped = "skipped"
	StatusError   = "error"
)

// ScenarioStatus is the outcome of one scenario. Every scenario the run
// knows has one, so that "no results" always comes with a reason (W-OPS-8).
type ScenarioStatus struct {
	// Name of the scenario, e.g. "ServiceScale".
	Name string
	// Status is StatusPassed, StatusFailed (a threshold was violated),
	// StatusSkipped (not applicable, e.g. Hubble on kube-proxy) or
	// StatusError (the measurement broke).
	Status string
	// Message says why, for anything but passed.
	Message string
}
