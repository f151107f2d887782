package e2e

import (
	"context"
	"encoding/json"
	"io"
	"strconv"
	"testing"
	"time"

	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"kube-netbench/fixtures"
	"kube-netbench/internal/bench"
	"kube-netbench/internal/report"
	"kube-netbench/internal/results"
	"kube-netbench/internal/scaleresult"
	"kube-netbench/internal/stats"
)

// judge computes each step's change against the baseline measured in the
// same run at 0 dummy Services (W-STAT-3) with its confidence interval
// (internal/scaleresult), writes the results, then fails the test for every
// step outside the profile's bounds: a violated threshold is reported after
// everything was written, it does not stop the run (practice 7).
func (s *serviceScale) judge(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	in := scaleresult.Input{Dataplane: string(s.kind), EndpointsPerSvc: s.cfg.SvcEndpoints, Saturation: bench.SaturationThreshold}
	for _, st := range s.steps {
		in.Steps = append(in.Steps, *st)
	}
	in.Keepalive = s.profile.Bound(&s.profile.ServiceScale.KeepaliveDegradationPct)
	in.Short = s.profile.Bound(&s.profile.ServiceScale.ShortConnDegradationPct)
	in.FixedQPS = s.cfg.SvcScaleQPS
	if s.sideBySide > 0 {
		in.SideBySide = &scaleresult.Creation{Services: s.sideBySide, Ours: s.oursRate, Seed: s.seedRate}
	}
	j, err := scaleresult.Judge(in)
	if err != nil {
		t.Fatal(err)
	}
	j.Summary.ClientSysctls = s.sysctls
	for _, f := range j.Summary.Findings {
		t.Log(f)
	}
	if err := s.write(t, j.Summary); err != nil {
		t.Errorf("write results: %v", err)
	}
	for _, p := range j.Problems {
		t.Error(p)
	}
	for _, v := range j.Verdicts {
		reportVerdict(t, v)
	}
	return ctx
}

// write puts the run's ServiceScale results in the results directory, with
// servicescale.summary.json as a view: the seed's "service_scale" section
// with what only this dimension knows (programming waits, rule positions,
// drains, findings, verdicts).
func (s *serviceScale) write(t *testing.T, sum scaleresult.Summary) error {
	run := report.Run{ID: s.cfg.RunID, Started: s.started, Finished: time.Now(), Fingerprint: s.fingerprint()}
	for _, st := range s.steps {
		for _, c := range scaleCases(st, s.cfg.SvcScaleQPS) {
			keys := append([]report.KV{{Key: "dataplane", Value: dataplaneKey(s.det)}, {Key: "svc", Value: stepSvc(st)}, {Key: "conn", Value: c.conn}}, c.keys...)
			failures := s.failures[stepLabel(st, c.conn)]
			var metrics []report.Metric
			for _, m := range c.metrics {
				if len(m.samples) == 0 {
					continue
				}
				var metric report.Metric
				var err error
				if m.percentile {
					metric, err = percentileMetric(m.unit, m.samples)
				} else {
					metric, err = report.NewMetric(m.unit, m.better, m.samples, stats.DefaultConfidence)
				}
				if err != nil {
					return err
				}
				metrics = append(metrics, metric)
			}
			if len(metrics) == 0 && len(failures) == 0 {
				continue
			}
			res := report.Result{Name: "ServiceScale", Keys: keys, Metrics: metrics, Failures: failures}
			if c.busy != nil && len(metrics) > 0 {
				// The client node's busy share per round, as RPS records
				// it: the report's saturated-client finding reads it.
				raw, err := json.Marshal(map[string][]float64{"client_node_cpu_busy": c.busy})
				if err != nil {
					return err
				}
				res.Raw = raw
			}
			run.Results = append(run.Results, res)
		}
	}
	seed := results.View{Name: "servicescale.summary.json", Write: func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"service_scale": sum})
	}}
	putResults(t, resultsDir, report.DimServiceScale, run, seed)
	return nil
}

// fingerprint is the run's provenance with ServiceScale's tools.
func (s *serviceScale) fingerprint() report.Fingerprint {
	tools := []report.Tool{{Name: "fortio", Image: fixtures.FortioImage, Version: s.fortioVersion}}
	if s.netperfMissing == "" {
		tools = append(tools, report.Tool{Name: "netperf", Image: fixtures.NetperfImage, Version: s.netperfVersion})
	}
	return fingerprint(s.run, s.det, s.cfg, tools)
}

// UnitKernelPerConn is kernel CPU (system + irq + softirq) per new
// connection, in seconds: on the lab the whole machine's, client, server
// and dataplane together.
const UnitKernelPerConn = "kernel-sec/conn"

// scaleMetric is one metric of a ServiceScale result.
type scaleMetric struct {
	unit, better string
	samples      []float64
	// percentile: samples are per-round percentiles (W-STAT-2).
	percentile bool
}

// scaleCase is one result of a step: a kind of run with its metrics.
type scaleCase struct {
	conn    string
	keys    []report.KV
	metrics []scaleMetric
	// busy is the client node's busy share per round, for the saturating
	// runs.
	busy []float64
}

// scaleCases are a step's results: the saturating keepalive and short
// runs (req/s; the short one's kernel CPU per connection), the fixed-rate
// short connections (percentiles) and TCP_CRR (trans/s, percentiles,
// kernel CPU per connection).
func scaleCases(st *scaleresult.Step, qps float64) []scaleCase {
	perConn := func(us []float64) []float64 {
		out := make([]float64, len(us))
		for i, v := range us {
			out[i] = v / 1e6
		}
		return out
	}
	lower, higher := report.LowerIsBetter, report.HigherIsBetter
	pcts := func(p scaleresult.Percentiles) []scaleMetric {
		return []scaleMetric{{"p50-sec", lower, p.P50, true}, {"p90-sec", lower, p.P90, true}, {"p99-sec", lower, p.P99, true}}
	}
	return []scaleCase{
		{conn: connKeepalive, metrics: []scaleMetric{{report.UnitReqPerSec, higher, st.Keepalive, false}}, busy: st.CPUBusyKeepalive},
		{conn: connShort, metrics: []scaleMetric{{report.UnitReqPerSec, higher, st.Short, false},
			{UnitKernelPerConn, lower, perConn(st.KernelPerConnShort), false}}, busy: st.CPUBusyShort},
		{conn: connFixed, keys: []report.KV{{Key: "qps", Value: strconv.FormatFloat(qps, 'f', -1, 64)}}, metrics: pcts(st.FixedRate)},
		{conn: connCRR, metrics: append([]scaleMetric{{"trans/s", higher, st.CRR, false}},
			append(pcts(st.CRRLatency), scaleMetric{UnitKernelPerConn, lower, perConn(st.KernelPerConnCRR), false})...)},
	}
}
