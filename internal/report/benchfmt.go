package report

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"golang.org/x/perf/benchfmt"
)

// WriteBenchfmt writes run in the Go benchmark format
// (https://golang.org/design/14313-benchmark-format) through
// benchfmt.Writer, so that benchstat and the other golang.org/x/perf tools
// read it:
//
//	# kube-netbench run nb-20261123-193538-a1b2c3
//	# started 2026-11-23T19:35:38Z, finished 2026-11-23T20:41:02Z
//	# scenario ServiceScale: passed
//	# scenario Hubble: skipped: not a Cilium cluster
//	Unit req/s better=higher
//	Unit req/s assume=nothing
//	dataplane: kube-proxy-iptables
//	kubernetes: v1.37.2
//	node-worker-1: role=client instance-type=SA5.LARGE8
//	tool-fortio: image=fortio/fortio:1.66.5 version=1.66.5
//	config-rounds: 6
//
//	BenchmarkServiceScale/dataplane=iptables/svc=10000/conn=short 1 14002 req/s
//
// The fingerprint becomes file-level configuration lines (see
// Fingerprint): dataplane, dataplane-version, kube-proxy-mode, kubernetes
// and kernel; node-<name> and tool-<name> with their attributes;
// config-<key> for each effective setting (the key lower-cased, "_" turned
// into "-"); and each Extra key as it is. Empty values are left out.
//
// Each metric's unit gets "better" and "assume=nothing" metadata, the
// latter matching the statistics of package stats (median, Mann-Whitney U).
// Sample i of every metric of a result shares benchmark line i, with an
// iteration count of 1, so benchstat sees every sample, never a mean.
//
// A run without results still gets its configuration lines.
//
// The run ID, its times and the scenario statuses are "#" comment lines,
// which benchmark readers skip: as configuration they would differ on
// every run and keep benchstat from comparing two runs of the same setup.
// The JSON summary carries them as data.
//
// Compare two runs of one setup with "benchstat old.txt new.txt". Runs of
// different dataplanes differ in their configuration, so benchstat would
// put them in separate tables; pivot instead, on the name key or on the
// fingerprint, e.g. (both checked with benchstat at the version in go.mod):
//
//	benchstat -table "" -col /dataplane iptables.txt cilium.txt
//	benchstat -col dataplane -row /svc,/conn -ignore dataplane-version,kube-proxy-mode iptables.txt cilium.txt
func WriteBenchfmt(w io.Writer, run Run) error {
	if err := run.Validate(); err != nil {
		return fmt.Errorf("write benchmark format: %w", err)
	}
	config, err := fileConfig(run.Fingerprint)
	if err != nil { // unreachable after Validate; kept for safety
		return fmt.Errorf("write benchmark format: %w", err)
	}
	bw := bufio.NewWriter(w)
	writeComments(bw, run)
	out := benchfmt.NewWriter(bw)
	if err := writeUnits(out, run.Results); err != nil {
		return fmt.Errorf("write benchmark format: %w", err)
	}
	for _, res := range run.Results {
		if err := writeResult(out, config, res); err != nil {
			return fmt.Errorf("write benchmark format: %s: %w", res.BenchmarkName(), err)
		}
	}
	if !slices.ContainsFunc(run.Results, func(r Result) bool { return len(r.Metrics) > 0 }) {
		// benchfmt.Writer writes configuration only before a result;
		// a run without results still states what it ran on.
		for _, c := range config {
			fmt.Fprintf(bw, "%s: %s\n", c.Key, c.Value)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write benchmark format: %w", err)
	}
	return nil
}

func writeComments(w io.Writer, run Run) {
	fmt.Fprintf(w, "# kube-netbench run %s\n", oneLine(run.ID))
	finished := "not finished"
	if !run.Finished.IsZero() {
		finished = "finished " + run.Finished.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(w, "# started %s, %s\n", run.Started.UTC().Format(time.RFC3339), finished)
	for _, s := range run.Scenarios {
		line := "# scenario " + oneLine(s.Name) + ": " + s.Status
		if s.Message != "" {
			line += ": " + oneLine(s.Message)
		}
		fmt.Fprintln(w, line)
	}
	// Failed rounds are not samples: comments, so that benchstat counts
	// only what was measured.
	for _, res := range run.Results {
		for _, f := range res.Failures {
			fmt.Fprintf(w, "# failed Benchmark%s round %d: %s\n", res.BenchmarkName(), f.Round, oneLine(f.Reason))
		}
	}
}

// writeUnits writes better= and assume= metadata for each unit, in order of
// first use.
func writeUnits(out *benchfmt.Writer, results []Result) error {
	seen := map[string]bool{}
	for _, res := range results {
		for _, m := range res.Metrics {
			if seen[m.Unit] {
				continue
			}
			seen[m.Unit] = true
			for _, md := range []benchfmt.UnitMetadata{
				{UnitMetadataKey: benchfmt.UnitMetadataKey{Unit: m.Unit, Key: "better"}, OrigUnit: m.Unit, Value: m.Better},
				{UnitMetadataKey: benchfmt.UnitMetadataKey{Unit: m.Unit, Key: "assume"}, OrigUnit: m.Unit, Value: "nothing"},
			} {
				if err := out.Write(&md); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// writeResult writes one line per sample index; a metric with fewer
// samples than another is absent from the extra lines.
func writeResult(out *benchfmt.Writer, config []benchfmt.Config, res Result) error {
	lines := 0
	for _, m := range res.Metrics {
		lines = max(lines, len(m.Samples))
	}
	for i := range lines {
		r := &benchfmt.Result{Config: config, Name: benchfmt.Name(res.BenchmarkName()), Iters: 1}
		for _, m := range res.Metrics {
			if i < len(m.Samples) {
				r.Values = append(r.Values, benchfmt.Value{Value: m.Samples[i], Unit: m.Unit})
			}
		}
		if err := out.Write(r); err != nil {
			return err
		}
	}
	return nil
}

// configKey is what the format allows as a configuration key, tightened to
// lower-case ASCII so that every key is easy to name in benchstat flags.
var configKey = regexp.MustCompile(`^[a-z][a-z0-9._-]*$`)

// fileConfig turns a fingerprint into file-level configuration, in a fixed
// order, or reports every key or value the format cannot carry.
func fileConfig(f Fingerprint) ([]benchfmt.Config, error) {
	var cfg []benchfmt.Config
	var errs []error
	seen := map[string]string{} // key -> where it came from
	add := func(key, value, from string) {
		if value == "" {
			return
		}
		switch {
		case !configKey.MatchString(key):
			errs = append(errs, fmt.Errorf("%s: configuration key %q must match %s", from, key, configKey))
		case seen[key] != "":
			errs = append(errs, fmt.Errorf("%s: configuration key %q is already used by %s", from, key, seen[key]))
		case strings.ContainsAny(value, "\r\n") || strings.TrimSpace(value) != value:
			errs = append(errs, fmt.Errorf("%s: value %q has a line break or leading or trailing space", from, value))
		default:
			seen[key] = from
			cfg = append(cfg, benchfmt.Config{Key: key, Value: []byte(value), File: true})
		}
	}
	add("dataplane", f.Dataplane, "dataplane")
	add("dataplane-version", f.DataplaneVersion, "dataplane version")
	add("kube-proxy-mode", f.KubeProxyMode, "kube-proxy mode")
	add("kubernetes", f.KubernetesVersion, "Kubernetes version")
	add("kernel", f.Kernel, "kernel")
	addAttrs := func(key, from string, kv ...string) {
		value, err := attrs(from, kv...)
		if err != nil {
			errs = append(errs, err)
			return
		}
		add(key, value, from)
	}
	for _, n := range f.Nodes {
		addAttrs("node-"+n.Name, "node "+n.Name, "role", n.Role, "instance-type", n.InstanceType, "kernel", n.Kernel)
	}
	for _, t := range f.Tools {
		addAttrs("tool-"+t.Name, "tool "+t.Name, "image", t.Image, "version", t.Version, "image-id", t.ImageID)
	}
	for _, k := range slices.Sorted(maps.Keys(f.Config)) {
		add("config-"+strings.ReplaceAll(strings.ToLower(k), "_", "-"), f.Config[k], "config "+k)
	}
	for _, k := range slices.Sorted(maps.Keys(f.Extra)) {
		add(k, f.Extra[k], "extra "+k)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("fingerprint: %w", err)
	}
	return cfg, nil
}

// attrs formats "k1=v1 k2=v2" from alternating keys and values, leaving out
// empty values; "-" when all are empty. Values must not contain spaces.
func attrs(from string, kv ...string) (string, error) {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		k, v := kv[i], kv[i+1]
		if v == "" {
			continue
		}
		if strings.ContainsFunc(v, unicode.IsSpace) {
			return "", fmt.Errorf("%s: %s %q must not contain spaces", from, k, v)
		}
		parts = append(parts, k+"="+v)
	}
	if len(parts) == 0 {
		return "-", nil
	}
	return strings.Join(parts, " "), nil
}

// oneLine collapses runs of white space, line breaks included, to one
// space, so a comment stays one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
