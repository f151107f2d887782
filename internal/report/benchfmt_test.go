package report

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"
)

// TestWriteBenchfmtGolden writes two runs of one setup; the goldens are
// also a pair to try benchstat on:
//
//	benchstat testdata/report/run.bench.txt testdata/report/run2.bench.txt
func TestWriteBenchfmtGolden(t *testing.T) {
	for name, run := range map[string]Run{"run.bench.txt": olderRun(t), "run2.bench.txt": newerRun(t)} {
		var buf bytes.Buffer
		if err := WriteBenchfmt(&buf, run); err != nil {
			t.Fatal(err)
		}
		golden(t, name, buf.Bytes())
	}
}

// line is one benchmark line as read back: name and unit=value pairs.
type line struct {
	name   string
	values string
}

// TestBenchfmtRoundTrip reads the output back with benchfmt.Reader and
// checks that the fingerprint, units, names and every sample survive.
func TestBenchfmtRoundTrip(t *testing.T) {
	run := fixtureRun(t, "nb-1", shortOld...)
	var buf bytes.Buffer
	if err := WriteBenchfmt(&buf, run); err != nil {
		t.Fatal(err)
	}

	var want []line
	for _, res := range run.Results {
		for i := range res.Metrics[0].Samples {
			var vs []string
			for _, m := range res.Metrics {
				vs = append(vs, fmt.Sprintf("%v %s", m.Samples[i], m.Unit))
			}
			want = append(want, line{res.BenchmarkName(), strings.Join(vs, " ")})
		}
	}

	r := benchfmt.NewReader(&buf, "run.bench.txt")
	var got []line
	var config []string
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.SyntaxError:
			t.Errorf("syntax error: %v", rec)
		case *benchfmt.Result:
			var vs []string
			for _, v := range rec.Values {
				vs = append(vs, fmt.Sprintf("%v %s", v.Value, v.Unit))
			}
			got = append(got, line{rec.Name.String(), strings.Join(vs, " ")})
			if rec.Iters != 1 {
				t.Errorf("%s: iterations %d, want 1", rec.Name, rec.Iters)
			}
			if config == nil {
				for _, c := range rec.Config {
					if !c.File {
						t.Errorf("config %s is not file-level", c.Key)
					}
					config = append(config, c.Key+": "+string(c.Value))
				}
			}
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("benchmark lines:\n got %v\nwant %v", got, want)
	}

	wantConfig := []string{
		"dataplane: kube-proxy-iptables",
		"dataplane-version: v1.37.2",
		"kube-proxy-mode: iptables",
		"kubernetes: v1.37.2",
		"kernel: 6.6.0-netbench",
		"node-worker-1: role=client instance-type=SA5.LARGE8",
		"node-worker-2: role=server instance-type=SA5.LARGE8",
		"tool-fortio: image=fortio/fortio:1.66.5@sha256:0d3b1f6e2c5a version=1.66.5",
		"tool-iperf3: image=networkstatic/iperf3:3.17@sha256:9a1c2e4b7d80 version=3.17",
		"config-fortio-duration: 30s",
		"config-rounds: 6",
		"config-svc-endpoints: 4",
		"service-cidr: 10.96.0.0/12",
	}
	if strings.Join(config, "\n") != strings.Join(wantConfig, "\n") {
		t.Errorf("file configuration:\n got %q\nwant %q", config, wantConfig)
	}

	units := r.Units()
	for unit, better := range map[string]int{"req/s": +1, "p99-sec": -1, "bits/s": +1} {
		if got := units.GetBetter(unit); got != better {
			t.Errorf("unit %s: better = %d, want %d", unit, got, better)
		}
		if md := units.Get(unit, "assume"); md == nil || md.Value != "nothing" {
			t.Errorf("unit %s: assume metadata %v, want nothing", unit, md)
		}
	}
}

// TestWriteBenchfmtNoResults: a run whose every scenario failed still
// states its provenance and why there are no results (W-OPS-8).
func TestWriteBenchfmtNoResults(t *testing.T) {
	run := fixtureRun(t, "nb-empty", shortOld...)
	run.Results = nil
	var buf bytes.Buffer
	if err := WriteBenchfmt(&buf, run); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"# scenario NetworkPolicy: error: fortio exited 1: connection refused\n",
		"# scenario Hubble: skipped: not a Cilium cluster\n",
		"\ndataplane: kube-proxy-iptables\n",
		"\nconfig-rounds: 6\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestBenchfmtUnequalSamples: a metric with fewer samples is left out of
// the extra lines instead of being padded.
func TestBenchfmtUnequalSamples(t *testing.T) {
	run := fixtureRun(t, "nb-1", shortOld...)
	run.Results = []Result{{
		Name: "Latency",
		Metrics: []Metric{
			metric(t, UnitReqPerSec, HigherIsBetter, 1000, 1001, 999),
			percentile(t, "p99-sec", 0.001, 0.0011),
		},
	}}
	var buf bytes.Buffer
	if err := WriteBenchfmt(&buf, run); err != nil {
		t.Fatal(err)
	}
	want := "BenchmarkLatency 1 1000 req/s 0.001 p99-sec\n" +
		"BenchmarkLatency 1 1001 req/s 0.0011 p99-sec\n" +
		"BenchmarkLatency 1 999 req/s\n"
	if !strings.HasSuffix(buf.String(), want) {
		t.Errorf("got:\n%s\nwant it to end with:\n%s", buf.String(), want)
	}
}

func TestWriteBenchfmtRejectsInvalidRun(t *testing.T) {
	run := fixtureRun(t, "nb-1", shortOld...)
	run.Results[0].Keys[0].Value = "kube proxy"
	var buf bytes.Buffer
	if err := WriteBenchfmt(&buf, run); !errors.Is(err, ErrInvalidRun) {
		t.Errorf("WriteBenchfmt error = %v, want ErrInvalidRun", err)
	}
	if buf.Len() != 0 {
		t.Errorf("wrote %d bytes of an invalid run", buf.Len())
	}
}
