package e2e

import (
	"context"
	"encoding/json"
	"io"
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
		svc := stepSvc(st)
		for _, m := range []struct {
			conn    string
			samples []float64
			busy    []float64
		}{{"keepalive", st.Keepalive, st.CPUBusyKeepalive}, {"short", st.Short, st.CPUBusyShort}} {
			keys := []report.KV{{Key: "dataplane", Value: dataplaneKey(s.det)}, {Key: "svc", Value: svc}, {Key: "conn", Value: m.conn}}
			failures := s.failures[stepLabel(st, m.conn == "keepalive")]
			if len(m.samples) == 0 {
				if len(failures) > 0 {
					run.Results = append(run.Results, report.Result{Name: "ServiceScale", Keys: keys, Failures: failures})
				}
				continue
			}
			metric, err := report.NewMetric(report.UnitReqPerSec, report.HigherIsBetter, m.samples, stats.DefaultConfidence)
			if err != nil {
				return err
			}
			// The client node's busy share per round, as RPS records it:
			// the report's saturated-client finding reads it.
			raw, err := json.Marshal(map[string][]float64{"client_node_cpu_busy": m.busy})
			if err != nil {
				return err
			}
			run.Results = append(run.Results, report.Result{Name: "ServiceScale", Keys: keys,
				Metrics: []report.Metric{metric}, Raw: raw, Failures: failures})
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
	return fingerprint(s.run, s.det, s.cfg, []report.Tool{{Name: "fortio", Image: fixtures.FortioImage, Version: s.fortioVersion}})
}
