//go:build linux

package lab

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"kube-netbench/internal/lab/netlab"
	"kube-netbench/internal/lab/netplan"
	"kube-netbench/internal/lab/proc"
)

// These tests start real labs: they need root and the built components
// (`make lab-bins`), and they cannot run beside another lab on the machine.

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == cliCommand {
		os.Exit(runCLIForTest(os.Args[2:]))
	}
	os.Exit(m.Run())
}

// needLab skips, saying why, when this machine cannot run a lab, and returns
// options for a lab in a fresh directory.
func needLab(t *testing.T) Options {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the lab creates network namespaces, routes and mounts")
	}
	o, err := OptionsFromEnv(func(k string) string {
		if k == "LAB_DIR" {
			return ""
		}
		return os.Getenv(k)
	}, filepath.Join(t.TempDir(), "lab"))
	require.NoError(t, err)
	if err := o.Cache.Binaries().Check(); err != nil {
		t.Skipf("lab components not built: %v", err)
	}
	left, err := Leftovers(o)
	require.NoError(t, err)
	if len(left) > 0 {
		t.Skipf("another lab is present on this machine; not touching it: %v", left)
	}
	return o
}

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// assertNothingLeft checks the machine, not the lab's own record: network
// namespaces, links and routes of the plan, and every process the lab
// started (nodes, control plane), and the directory.
func assertNothingLeft(t *testing.T, o Options, nodes, controlPlane []proc.Ident) {
	t.Helper()
	left, err := netlab.Leftovers(o.Plan)
	require.NoError(t, err)
	require.Empty(t, left, "network leftovers")
	for _, id := range append(nodes, controlPlane...) {
		// A zombie has exited: it only waits for a parent to reap it (the
		// machine's init may never do so).
		if id.Alive() {
			t.Errorf("process %s (%s) still runs after teardown", id, id.Comm())
		}
	}
	_, err = os.Stat(o.Dir)
	require.True(t, errors.Is(err, os.ErrNotExist), "lab directory %s still exists", o.Dir)
}

func TestBadInputFailsBeforeAnythingIsCreated(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"unknown proxy mode", map[string]string{"LAB_DATAPLANE": "ipvs"}, `LAB_DATAPLANE="ipvs": unknown dataplane; allowed: iptables, nftables, cilium-overlay, cilium-native`},
		{"zero nodes", map[string]string{"LAB_NODES": "0"}, `LAB_NODES="0"`},
		{"hubble not a switch", map[string]string{"LAB_DATAPLANE": "cilium-overlay", "LAB_CILIUM_HUBBLE": "yes"}, `LAB_CILIUM_HUBBLE="yes": allowed: on, off (default off)`},
		{"hubble without cilium", map[string]string{"LAB_CILIUM_HUBBLE": "on"}, `LAB_CILIUM_HUBBLE="on": LAB_DATAPLANE=iptables runs no Cilium`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := OptionsFromEnv(func(k string) string { return tc.env[k] }, t.TempDir())
			require.ErrorContains(t, err, tc.want)
		})
	}
	t.Run("range overlapping a route of the machine", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root")
		}
		dir := filepath.Join(t.TempDir(), "lab")
		// 127.0.0.0/8 is routed on every Linux machine (table local).
		o, err := OptionsFromEnv(func(k string) string {
			if k == "LAB_POD_CIDR" {
				return "127.200.0.0/16"
			}
			return os.Getenv(k)
		}, dir)
		require.NoError(t, err)
		_, err = Up(context.Background(), o, testLog(t))
		require.ErrorContains(t, err, "LAB_POD_CIDR 127.200.0.0/16 overlaps the machine's")
		_, statErr := os.Stat(dir)
		require.True(t, errors.Is(statErr, os.ErrNotExist), "Up created %s before rejecting its input", dir)
		// Nothing of a lab exists: checked with the default plan, since the
		// rejected plan overlaps the machine's loopback route by design.
		left, err := netlab.Leftovers(netplan.Default())
		require.NoError(t, err)
		require.Empty(t, left)
	})
}

// TestFailureAtEveryStepLeavesNothing fails Up after each of its steps and
// checks the machine afterwards.
func TestFailureAtEveryStepLeavesNothing(t *testing.T) {
	base := needLab(t)
	for _, step := range []string{"network", "control-plane", "nodes"} {
		t.Run(step, func(t *testing.T) {
			o := base
			o.Dir = filepath.Join(t.TempDir(), "lab")
			var nodes, cp []proc.Ident
			o.afterStep = func(s string) error {
				if st, _ := loadState(o.Dir); st != nil {
					nodes = append(nodes, st.Nodes...)
					for _, p := range newControlPlane(o.Dir, st.Name, st.Kwokctl, st.Kubectl).processes() {
						cp = append(cp, p)
					}
				}
				if s == step {
					return errors.New("injected failure after " + s)
				}
				return nil
			}
			_, err := Up(context.Background(), o, testLog(t))
			require.ErrorContains(t, err, "injected failure after "+step)
			if step != "network" {
				require.NotEmpty(t, cp, "the control plane should have been running at step %s", step)
			}
			assertNothingLeft(t, o, nodes, cp)
		})
	}
}

// cliCommand makes the test binary run the netbench CLI, so a test can
// interrupt a real `netbench lab up` process.
const cliCommand = "__lab_test_cli"

func runCLIForTest(args []string) int {
	o, err := OptionsFromEnv(os.Getenv, os.Getenv("LAB_DIR"))
	if err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if _, err := Up(ctx, o, log); err != nil {
		log.Error("up", "err", err)
		return 1
	}
	return 0
}

// TestInterruptDuringUpLeavesNothing sends SIGINT to a process in the middle
// of starting a lab, once its nodes run.
func TestInterruptDuringUpLeavesNothing(t *testing.T) {
	o := needLab(t)
	self, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(self, cliCommand)
	cmd.Env = append(os.Environ(), "LAB_DIR="+o.Dir)
	cmd.Stdout, cmd.Stderr = io.Discard, tWriter{t}
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var nodes, cp []proc.Ident
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st, _ := loadState(o.Dir)
		if st != nil && len(st.Nodes) > 0 {
			nodes = append(nodes, st.Nodes...)
			for _, p := range newControlPlane(o.Dir, st.Name, st.Kwokctl, st.Kubectl).processes() {
				cp = append(cp, p)
			}
			break
		}
		require.True(t, time.Now().Before(deadline), "lab up never started its nodes")
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	select {
	case err := <-done:
		require.Error(t, err, "an interrupted lab up must exit non-zero")
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatal("lab up did not end within 2 minutes of SIGINT")
	}
	require.NotEmpty(t, cp)
	assertNothingLeft(t, o, nodes, cp)
}

// lockedBuffer collects a subprocess's output written from two pipes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
