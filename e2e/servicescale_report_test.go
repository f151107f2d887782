package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"kube-netbench/fixtures"
	"kube-netbench/internal/config"
	"kube-netbench/internal/report"
	"kube-netbench/internal/stats"
)

// scaleSummary is the service_scale section of the summary: the seed's
// fields (benchmark-summary.json) plus intervals, raw samples and waits.
type scaleSummary struct {
	Dataplane             string  `json:"dataplane"`
	EndpointsPerSvc       int     `json:"endpoints_per_svc"`
	KeepaliveBaselineQPS  float64 `json:"keepalive_baseline_qps"`
	ShortConnBaselineQPS  float64 `json:"short_conn_baseline_qps"`
	CreationRateSvcPerSec float64 `json:"creation_rate_svc_per_s"`
	// SeedMethodCreationRate is the seed script's method (500-object files,
	// kubectl apply 4 at a time, Services + v1 Endpoints) on the same
	// apiserver, measured back to back with ours for the same count.
	SeedMethodCreationRate *float64        `json:"seed_method_creation_rate_svc_per_s"`
	SideBySideRate         *float64        `json:"side_by_side_creation_rate_svc_per_s"`
	SideBySideServices     int             `json:"side_by_side_services,omitempty"`
	Steps                  []scaleStepJSON `json:"steps"`
}

type scaleStepJSON struct {
	SvcCount                int            `json:"svc_count"`
	KeepaliveQPS            float64        `json:"keepalive_qps"`
	KeepaliveDegradationPct *report.Change `json:"keepalive_degradation_pct,omitempty"`
	ShortConnQPS            float64        `json:"short_conn_qps"`
	ShortConnDegradationPct *report.Change `json:"short_conn_degradation_pct,omitempty"`
	KeepaliveSamples        []float64      `json:"keepalive_samples"`
	ShortConnSamples        []float64      `json:"short_conn_samples"`
	FailedSamples           int            `json:"failed_samples"`
	ProgrammingSeconds      float64        `json:"programming_s"`
	CanaryAnswerSeconds     float64        `json:"canary_answer_s"`
	FortioServicePosition   map[string]int `json:"fortio_service_position"`
	ClusterIPEntries        map[string]int `json:"clusterip_entries"`
	DrainWaitSeconds        []float64      `json:"drain_wait_s"`
	ConntrackEntries        []int          `json:"conntrack_entries_before_short"`
	CreationRateSvcPerSec   float64        `json:"creation_rate_svc_per_s,omitempty"`
}

// judge computes each step's change against the baseline measured in the
// same run at 0 dummy Services (W-STAT-3), with its confidence interval,
// writes the results, and fails the test for every step whose keepalive
// change is outside the profile's bound.
func (s *serviceScale) judge(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	if len(s.steps) == 0 || s.steps[0].Services != 0 {
		t.Fatal("no baseline step was measured")
	}
	base := s.steps[0]
	sum := scaleSummary{Dataplane: string(s.kind), EndpointsPerSvc: s.cfg.SvcEndpoints,
		KeepaliveBaselineQPS: median(base.Keepalive), ShortConnBaselineQPS: median(base.Short)}
	var bound *stats.Bound
	for _, th := range s.profile.Thresholds() {
		if b, ok := th.Bound(); ok && th.Name == "serviceScale.keepaliveDegradationPct" {
			bound = &b
		}
	}
	var verdicts []stats.Verdict
	rates := 0.0
	for _, st := range s.steps {
		js := scaleStepJSON{SvcCount: st.Services, KeepaliveQPS: median(st.Keepalive), ShortConnQPS: median(st.Short),
			KeepaliveSamples: st.Keepalive, ShortConnSamples: st.Short, FailedSamples: st.Failed,
			ProgrammingSeconds: st.ProgrammingTime.Seconds(), CanaryAnswerSeconds: st.CanaryLatency.Seconds(),
			FortioServicePosition: st.Position, ClusterIPEntries: st.ClusterIPs, CreationRateSvcPerSec: st.CreateRate,
			ConntrackEntries: st.Conntrack}
		for _, w := range st.DrainWaits {
			js.DrainWaitSeconds = append(js.DrainWaitSeconds, w.Seconds())
		}
		if st.CreateRate > rates {
			rates = st.CreateRate
		}
		if st.Services > 0 {
			if c, err := stats.Change(base.Keepalive, st.Keepalive, stats.DefaultConfidence); err == nil {
				js.KeepaliveDegradationPct = report.NewChange(c)
				t.Logf("%d Services: keepalive %s", st.Services, describe(c))
				if bound != nil {
					b := *bound
					b.Metric = fmt.Sprintf("keepalive degradation at %d Services", st.Services)
					verdicts = append(verdicts, b.Check(c))
				}
			} else {
				t.Errorf("%d Services: keepalive change: %v", st.Services, err)
			}
			if c, err := stats.Change(base.Short, st.Short, stats.DefaultConfidence); err == nil {
				js.ShortConnDegradationPct = report.NewChange(c)
				t.Logf("%d Services: short-connection %s", st.Services, describe(c))
			} else {
				t.Errorf("%d Services: short-connection change: %v", st.Services, err)
			}
		}
		sum.Steps = append(sum.Steps, js)
	}
	sum.CreationRateSvcPerSec = rates
	// Not measured (the assessment was skipped or failed) is null, not 0.
	if s.sideBySide > 0 {
		sum.SeedMethodCreationRate, sum.SideBySideRate, sum.SideBySideServices = &s.seedRate, &s.oursRate, s.sideBySide
	}
	if err := s.write(sum); err != nil {
		t.Errorf("write results: %v", err)
	}
	for _, v := range verdicts {
		switch v.Outcome {
		case stats.Fail:
			t.Error(v.Message)
		case stats.Inconclusive:
			t.Logf("inconclusive (measure more rounds): %s", v.Message)
		default:
			t.Log(v.Message)
		}
	}
	return ctx
}

func describe(c stats.Comparison) string {
	if !c.Bounded() {
		return fmt.Sprintf("change %+.1f %% (no interval: %v)", c.Center, c.Warnings)
	}
	return fmt.Sprintf("change %+.1f %% [%.0f %% CI %+.1f, %+.1f]", c.Center, c.Confidence*100, c.Lo, c.Hi)
}

func median(v []float64) float64 {
	sm, err := stats.Summarize(v, stats.DefaultConfidence)
	if err != nil {
		return 0
	}
	return sm.Center
}

// write puts the benchmark-format lines (benchstat-ready) and the JSON
// summary of the run in the results directory.
func (s *serviceScale) write(sum scaleSummary) error {
	dir := s.cfg.ResultsDir
	if !filepath.IsAbs(dir) {
		dir = filepath.Join("..", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	run := report.Run{ID: s.cfg.RunID, Started: s.started, Finished: time.Now(), Fingerprint: s.fingerprint()}
	for _, st := range s.steps {
		for _, m := range []struct {
			conn    string
			samples []float64
		}{{"keepalive", st.Keepalive}, {"short", st.Short}} {
			if len(m.samples) == 0 {
				continue
			}
			metric, err := report.NewMetric(report.UnitReqPerSec, report.HigherIsBetter, m.samples, stats.DefaultConfidence)
			if err != nil {
				return err
			}
			run.Results = append(run.Results, report.Result{Name: "ServiceScale",
				Keys:    []report.KV{{Key: "dataplane", Value: s.kp.Mode}, {Key: "svc", Value: strconv.Itoa(st.Services)}, {Key: "conn", Value: m.conn}},
				Metrics: []report.Metric{metric}})
		}
	}
	base := filepath.Join(dir, "servicescale-"+string(s.kind))
	f, err := os.Create(base + ".bench.txt")
	if err != nil {
		return err
	}
	if err := report.WriteBenchfmt(f, run); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(map[string]any{"service_scale": sum}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(base+".summary.json", b, 0o644)
}

// configMap is the effective configuration for the fingerprint, without the
// run-specific values benchstat would otherwise split tables on.
func configMap(c config.Config) map[string]string {
	out := map[string]string{}
	for _, kv := range c.Describe() {
		if kv.Key == config.EnvRunID || kv.Key == config.EnvResultsDir {
			continue
		}
		out[kv.Key] = kv.Value
	}
	return out
}

// fingerprint records where the numbers come from: dataplane and its
// version, Kubernetes version, kernel, the two nodes used with their roles
// and instance types, the tools' images and versions, and the effective
// configuration.
func (s *serviceScale) fingerprint() report.Fingerprint {
	fp := report.Fingerprint{Dataplane: string(s.kind), KubeProxyMode: s.kp.Mode, Config: configMap(s.cfg),
		Tools: []report.Tool{
			{Name: "fortio", Image: fixtures.FortioImage, Version: s.fortioVersion},
			{Name: "kube-proxy", Image: s.kp.Image},
		}}
	if v, err := s.client.Discovery().ServerVersion(); err == nil {
		fp.KubernetesVersion = v.GitVersion
	}
	if i := strings.LastIndexByte(s.kp.Image, ':'); i > 0 {
		fp.DataplaneVersion = s.kp.Image[i+1:]
	}
	for i, n := range s.nodes {
		role := []string{"server", "client"}[i]
		fp.Nodes = append(fp.Nodes, report.Node{Name: n.Name, Role: role,
			InstanceType: n.Labels[corev1.LabelInstanceTypeStable], Kernel: n.Status.NodeInfo.KernelVersion})
		fp.Kernel = n.Status.NodeInfo.KernelVersion
	}
	return fp
}
