package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"kube-netbench/internal/cli"
	"kube-netbench/internal/config"
	"kube-netbench/internal/gate"
	"kube-netbench/internal/report"
	"kube-netbench/internal/results"
)

// Settings of the gate's end-to-end test.
const (
	// gateRounds is the fewest rounds that give a change an interval: with
	// fewer, every verdict is inconclusive and the gate proves nothing.
	gateRounds = 6
	// gateRules is the size of the injected regression: 3,000 rules cost
	// keepalive req/s about 45 % on the lab, too close to its A/A drift
	// (up to 20 %) for a test that must not flake.
	gateRules = 10000
	// gateProfile holds tolerances for the lab's run-to-run drift.
	gateProfile = "profiles/lab-gate.yaml"
)

// gateTest runs keepalive RPS several times on the same workloads, each
// pass a run directory of its own, and gates them with netbench compare.
type gateTest struct {
	*rps
	root string
	// base is the run's configuration; each pass measures with its own
	// copy of it, so that one pass's rounds and duration never leak into
	// the next or into what the run records.
	base config.Config
}

// TestRegressionGate tests netbench compare end to end on real runs: two
// passes of the same measurement (A/A) pass; a pass with a real regression
// injected into the dataplane (gateRules rules at the top of every lab
// node's FORWARD chain) fails naming the metric; a pass with another load
// configuration is incomparable (exit 2).
func TestRegressionGate(t *testing.T) {
	g := &gateTest{rps: &rps{dimension: newDimension(t, report.DimGate),
		cases: []rpsCase{{"svc", 64, true}, {"pod", 64, true}}}}
	g.base = g.cfg.Clone()
	g.test(t, feature{title: "regression gate", setup: g.setup, labels: []string{"lab=only", "disruptive=true"}, assess: []step{
		{"A/A: two passes of the same measurement pass the gate", g.aa},
		{"FORWARD rules injected on every node: the gate fails naming the metric", g.injected},
		{"another load configuration: the runs are incomparable", g.incomparable},
	}})
}

func (g *gateTest) setup(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
	g.outcome.started = true
	if injectForward == nil {
		g.skipf(t, "the regression is injected into the embedded lab's nodes; this cluster is not the lab")
	}
	g.start(ctx, t, cfg)
	g.podIP, g.svcIP = fortioPair(ctx, t, g.run)
	g.root = filepath.Join(resultsDir.Path, "gate")
	return ctx
}

// pass measures the cases for rounds rounds of duration into the run
// directory <root>/<name> and returns its path.
func (g *gateTest) pass(ctx context.Context, t *testing.T, name string, rounds int, duration time.Duration) string {
	t.Helper()
	out, err := results.Create(g.root, name, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	g.out, g.results, g.started = out, nil, time.Now()
	g.cfg = g.base.Clone()
	g.cfg.Rounds, g.cfg.FortioDuration = rounds, duration
	g.samples = perCase[rpsCase, rpsSamples](g.cases)
	g.measure(ctx, t, nil)
	if t.Failed() {
		t.FailNow()
	}
	g.writeResults(t)
	if err := out.Finish(time.Now()); err != nil {
		t.Fatal(err)
	}
	return out.Path
}

// compare runs netbench compare and returns its exit code and compare.md.
func (g *gateTest) compare(t *testing.T, name, base, cand string) (int, string) {
	t.Helper()
	dir := filepath.Join(g.root, "compare-"+name)
	var stdout, stderr bytes.Buffer
	code := cli.Run([]string{"compare", "--profile", filepath.Join(moduleRoot, gateProfile), "-o", dir, base, cand}, nil, &stdout, &stderr)
	t.Logf("netbench compare %s %s: exit %d\n%s%s", base, cand, code, stdout.String(), stderr.String())
	md, _ := os.ReadFile(filepath.Join(dir, "compare.md"))
	return code, string(md)
}

func (g *gateTest) aa(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	a := g.pass(ctx, t, "a", gateRounds, g.base.FortioDuration)
	b := g.pass(ctx, t, "b", gateRounds, g.base.FortioDuration)
	if code, md := g.compare(t, "aa", a, b); code != gate.ExitPass {
		t.Fatalf("A/A: exit %d, want %d (no regression):\n%s", code, gate.ExitPass, md)
	}
	return ctx
}

// regressed matches a regression verdict of keepalive req/s in compare.md.
var regressed = regexp.MustCompile(`(?m)^\| dataplane=\S+ target=(svc|pod) conn=keepalive c=64 \| req/s \(higher is better\) \|.*\*\*regression\*\* \|$`)

func (g *gateTest) injected(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	if g.det.Cilium != nil {
		g.partSkipf(t, "the injected regression is %d rules in the nodes' netfilter FORWARD chain, which Cilium's BPF host routing "+
			"does not traverse (on the lab's cilium-overlay they left keepalive req/s unchanged, 2026-12-06): it proves the gate "+
			"on kube-proxy dataplanes only", gateRules)
	}
	remove, err := injectForward(ctx, gateRules)
	if err != nil {
		t.Fatal(err)
	}
	removed := false
	t.Cleanup(func() {
		if !removed {
			if err := remove(context.WithoutCancel(ctx)); err != nil {
				t.Errorf("remove the injected rules: %v", err)
			}
		}
	})
	t.Logf("%d rules at the top of every node's FORWARD chain", gateRules)
	c := g.pass(ctx, t, "injected", gateRounds, g.base.FortioDuration)
	removed = true
	if err := remove(ctx); err != nil {
		t.Fatalf("remove the injected rules: %v", err)
	}
	code, md := g.compare(t, "injected", filepath.Join(g.root, "a"), c)
	if code != gate.ExitRegression {
		t.Fatalf("injected regression: exit %d, want %d:\n%s", code, gate.ExitRegression, md)
	}
	if !regressed.MatchString(md) {
		t.Fatalf("compare.md names no keepalive req/s regression:\n%s", md)
	}
	t.Logf("the gate names it: %s", regressed.FindString(md))
	return ctx
}

func (g *gateTest) incomparable(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	d := g.pass(ctx, t, "other-load", 2, g.base.FortioDuration+time.Second)
	if code, md := g.compare(t, "incomparable", filepath.Join(g.root, "a"), d); code != gate.ExitIncomparable {
		t.Fatalf("another load configuration: exit %d, want %d:\n%s", code, gate.ExitIncomparable, md)
	}
	g.notes = append(g.notes, "runs gate/{a,b,injected,other-load}, verdicts gate/compare-{aa,injected,incomparable}/compare.md")
	if err := resultsDir.Record(g.name, report.StatusPassed, ""); err != nil {
		t.Error(err)
	}
	return ctx
}
