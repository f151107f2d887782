package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"kube-netbench/fixtures"
	"kube-netbench/internal/dataplane"
	"kube-netbench/internal/kube"
	"kube-netbench/internal/report"
	"kube-netbench/internal/stats"
	"kube-netbench/internal/tools/fortio"
)

// rolloutTimeout bounds one verified rollout of the Cilium agents.
const rolloutTimeout = 5 * time.Minute

// hubble measures what Hubble costs: keepalive req/s through a ClusterIP
// Service with Hubble on and off, in interleaved pairs, each state set in
// cilium-config and rolled out to every agent and verified there before
// measuring (W-BUG-1, W-SYNC-3, W-OPS-2).
type hubble struct {
	*dimension
	svcIP         string
	restore       func(context.Context) error
	on, off       []float64
	failed        int
	fortioVersion string
}

func TestHubble(t *testing.T) {
	h := &hubble{dimension: newDimension(t, report.DimHubble)}
	h.test(t, feature{title: "hubble overhead", setup: h.setup, labels: []string{"dataplane=cilium", "disruptive=true"}, teardown: h.teardown, assess: []step{
		{"W-BUG-1: a toggle that did not reach the agents is caught before measuring", h.sabotagedToggleIsCaught},
		{"interleaved ON/OFF pairs, each state rolled out and verified on every agent", h.measure},
		{"Hubble overhead on keepalive req/s, paired, with its interval", h.judge},
	}})
}

func (h *hubble) setup(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
	h.start(ctx, t, cfg)
	if h.det.Cilium == nil {
		h.skipf(t, "dataplane %s runs no Cilium: Hubble is Cilium's", h.det.Kind)
	}
	if err := h.det.Cilium.Readable(); err != nil {
		h.skipf(t, "dataplane %s: Hubble is toggled and verified through the agents: %v", h.det.Kind, err)
	}
	defer h.progress.To(t).Phase("setup: fortio server and client, Service")()
	_, h.svcIP = fortioPair(ctx, t, h.run)
	prev, had := h.det.Cilium.Config["enable-hubble"]
	mark, err := dataplane.CiliumRestartMark(ctx, h.client, h.det.Cilium.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	h.restore = func(ctx context.Context) error {
		if err := dataplane.RestoreCiliumConfig(ctx, h.client, h.det.Cilium.Namespace, "enable-hubble", prev, had); err != nil {
			return err
		}
		// The DaemonSet's template as found, too: the rollout that reads
		// the restored setting puts the restart annotation back.
		if _, err := dataplane.RestoreCilium(ctx, h.client, h.det.Cilium.Namespace, mark, rolloutTimeout); err != nil {
			return err
		}
		// Verified: the agents run with the restored setting (absent means
		// Cilium's default, on).
		return h.verify(ctx, !had || prev == "true", time.Minute)
	}
	t.Cleanup(func() { h.writeResults(t) })
	return ctx
}

// teardown puts enable-hubble back as found, rolls the agents out and
// verifies them; a failure to restore fails the test (W-OPS-1).
func (h *hubble) teardown(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	if h.restore == nil {
		return ctx
	}
	done := h.progress.To(t).Phase("restore enable-hubble and roll the agents out")
	err := h.restore(context.WithoutCancel(ctx))
	done()
	if err != nil {
		t.Errorf("restore Hubble as it was: %v", err)
	}
	return ctx
}

// setHubble sets enable-hubble, rolls the agents out and verifies every
// test node's agent reports the state (W-SYNC-3: a verified state, never a
// fixed sleep).
func (h *hubble) setHubble(ctx context.Context, t *testing.T, on bool) error {
	t.Helper()
	done := h.progress.To(t).Phase("hubble %s: cilium-config, rollout, verify on every agent", onOff(on))
	defer done()
	if _, _, err := dataplane.SetCiliumConfig(ctx, h.client, h.det.Cilium.Namespace, "enable-hubble", strconv.FormatBool(on)); err != nil {
		return err
	}
	took, err := dataplane.RestartCilium(ctx, h.client, h.det.Cilium.Namespace, rolloutTimeout)
	if err != nil {
		return err
	}
	if err := h.verify(ctx, on, time.Minute); err != nil {
		return err
	}
	// The restarted agents restored the pods' endpoints: traffic must flow
	// again before anything is measured.
	answered, err := h.answers(ctx, h.svcIP, time.Minute)
	if err != nil {
		return err
	}
	t.Logf("hubble %s on every agent (rollout %s, Service answered after %s)", onOff(on), took.Round(time.Millisecond), answered.Round(time.Millisecond))
	return nil
}

// verify waits, up to timeout, until a fresh detection (the agents' pods
// change with a rollout) finds every test node's agent reporting Hubble on
// or off: a restarted agent reports "Warning" for a moment while Hubble
// starts. It returns the last disagreement when the time is up.
func (h *hubble) verify(ctx context.Context, on bool, timeout time.Duration) error {
	var last error
	_, err := kube.WaitFor(ctx, "hubble "+onOff(on)+" on every agent", timeout, func(ctx context.Context) (bool, string, error) {
		det, err := detect(ctx, h.run)
		if err != nil {
			if ctx.Err() == nil { // not the wait's own deadline cutting the read short
				last = err
			}
			return false, err.Error(), nil
		}
		if det.Cilium == nil {
			last = fmt.Errorf("no Cilium agent runs any more")
			return false, last.Error(), nil
		}
		h.det = det
		last = dataplane.VerifyHubble(det.Cilium, h.nodeNames(), on)
		if last != nil {
			return false, last.Error(), nil
		}
		return true, "", nil
	})
	if err != nil && last != nil {
		return last
	}
	return err
}

// settled waits until every test node's agent reports Hubble in one
// definite state ("Ok" or "Disabled": an agent that just started says
// "Warning" for a moment) and returns whether it is on.
func (h *hubble) settled(ctx context.Context) (bool, error) {
	var on bool
	_, err := kube.WaitFor(ctx, "a settled Hubble state on every agent", time.Minute, func(ctx context.Context) (bool, string, error) {
		det, err := detect(ctx, h.run)
		if err != nil || det.Cilium == nil {
			return false, fmt.Sprintf("detection: %v", err), nil
		}
		h.det = det
		seen := map[string]bool{}
		for _, n := range h.nodeNames() {
			seen[det.Cilium.Hubble[n]] = true
		}
		if len(seen) == 1 && (seen["Ok"] || seen["Disabled"]) {
			on = seen["Ok"]
			return true, "", nil
		}
		return false, fmt.Sprintf("agents report %v", det.Cilium.Hubble), nil
	})
	return on, err
}

// sabotagedToggleIsCaught changes cilium-config without rolling the agents
// out, the seed's no-op toggle (W-BUG-1), and requires the verification to
// refuse it; then puts the setting back.
func (h *hubble) sabotagedToggleIsCaught(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	current, err := h.settled(ctx)
	if err != nil {
		t.Fatal(err)
	}
	prev, had, err := dataplane.SetCiliumConfig(ctx, h.client, h.det.Cilium.Namespace, "enable-hubble", strconv.FormatBool(!current))
	if err != nil {
		t.Fatal(err)
	}
	// A real toggle shows within seconds (a rollout takes about 3 s here);
	// 15 s without one is a no-op.
	verr := h.verify(ctx, !current, 15*time.Second)
	if err := dataplane.RestoreCiliumConfig(ctx, h.client, h.det.Cilium.Namespace, "enable-hubble", prev, had); err != nil {
		t.Fatal(err)
	}
	if verr == nil {
		t.Fatalf("enable-hubble=%t was set without a rollout, yet every agent was found with hubble %s: the verification cannot tell a no-op toggle",
			!current, onOff(!current))
	}
	if !strings.Contains(verr.Error(), "hubble should be") {
		t.Fatalf("the no-op toggle was refused for another reason than the agents' state: %v", verr)
	}
	t.Logf("a toggle without a rollout is refused: %v", verr)
	return ctx
}

// measure runs the pairs in ABBA order (ON,OFF then OFF,ON, ...), so that
// each pair costs one rollout and drift hits both states alike.
func (h *hubble) measure(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	pairs := h.cfg.Rounds // one pair a round; 6 give the paired change an interval (W-STAT-1)
	on, err := h.settled(ctx)
	if err != nil {
		t.Fatal(err)
	}
	margin := h.cfg.ExecTimeout(h.cfg.FortioDuration) - h.cfg.FortioDuration
	load := fortio.Load{URL: fmt.Sprintf("http://%s:%d/echo?size=512", h.svcIP, fixtures.FortioHTTPPort),
		Connections: 64, Duration: h.cfg.FortioDuration, Keepalive: true}
	for pair := 1; pair <= pairs; pair++ {
		var got [2]float64 // [off, on]
		ok := true
		for _, state := range abba([]bool{true, false}, pair) {
			stopIfInterrupted(ctx, t, fmt.Sprintf("pair %d", pair))
			if state != on {
				if err := h.setHubble(ctx, t, state); err != nil {
					t.Fatalf("pair %d: %v", pair, err)
				}
				on = state
			}
			h.waitQuiet(ctx, t, fmt.Sprintf("pair %d, hubble %s", pair, onOff(state)))
			if !h.measureRound(ctx, t, h.outcome, pair, "hubble "+onOff(state), func(ctx context.Context) (func(), error) {
				res, busy, err := h.fortioLoad(ctx, load, margin)
				return func() {
					h.fortioVersion = res.Version
					got[btoi(state)] = res.ActualQPS
					t.Logf("pair %d, hubble %s: %.0f req/s keepalive c64 through the Service, all 200; client node CPU %.0f %% busy",
						pair, onOff(state), res.ActualQPS, busy*100)
				}, err
			}) {
				h.failed++
				ok = false
			}
		}
		if ok {
			h.off, h.on = append(h.off, got[0]), append(h.on, got[1])
		}
	}
	return ctx
}

// judge reports Hubble's cost as the paired change of req/s, ON against
// OFF, with its interval (reported: the profile's hubble.overheadPct).
func (h *hubble) judge(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	judgePaired(t, h.off, h.on, h.profile.Bound(&h.profile.Hubble.RPSChangePct), "keepalive c64 req/s, Hubble on vs off")
	return ctx
}

func (h *hubble) writeResults(t *testing.T) {
	if len(h.on) == 0 && len(h.failures) == 0 {
		return
	}
	h.tools = []report.Tool{{Name: "fortio", Image: fixtures.FortioImage, Version: h.fortioVersion}}
	for _, s := range []struct {
		state   string
		samples []float64
	}{{"off", h.off}, {"on", h.on}} {
		keys := []report.KV{{Key: "hubble", Value: s.state}, {Key: "conn", Value: "keepalive"}, {Key: "c", Value: "64"}}
		if len(s.samples) == 0 {
			h.addCase("hubble "+s.state, "Hubble", keys)
			continue
		}
		m, err := report.NewMetric(report.UnitReqPerSec, report.HigherIsBetter, s.samples, stats.DefaultConfidence)
		if err != nil {
			t.Errorf("hubble %s: %v", s.state, err)
			continue
		}
		h.addCase("hubble "+s.state, "Hubble", keys, m)
	}
	if len(h.results) > 0 {
		h.write(t)
	}
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
