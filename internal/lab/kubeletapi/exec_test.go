package kubeletapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/remotecommand"
	clientexec "k8s.io/client-go/util/exec"
	utilexec "k8s.io/utils/exec"
)

var transports = []string{spdy, webSocket}

const podPath = "/exec/" + fakeNS + "/" + fakePod + "/" + fakeContainer

func TestExecStreams(t *testing.T) {
	ts := startServer(t, newFakeRuntime(), Options{})
	stdin := pattern('i', 1<<20)
	cases := []struct {
		name       string
		path       string
		cmd        []string
		stdin      []byte // nil: input not requested
		slowReader bool   // the client's stdout stalls at first, so the output backs up
		wantOut    []byte
		wantErr    []byte
	}{
		{name: "separate stdout and stderr", path: podPath, cmd: []string{"echo", "hello", "world"},
			wantOut: []byte("hello world\n"), wantErr: []byte("err:hello world\n")},
		{name: "path with pod UID", path: "/exec/ns/pod/" + fakeUID + "/c", cmd: []string{"echo", "uid"},
			wantOut: []byte("uid\n"), wantErr: []byte("err:uid\n")},
		{name: "multi-megabyte output", path: podPath, cmd: []string{"big", "8388608", "2097152"},
			wantOut: pattern('o', 8<<20), wantErr: pattern('e', 2<<20)},
		{name: "large output to a slow reader", path: podPath, cmd: []string{"big", "8388608", "65536"},
			slowReader: true, wantOut: pattern('o', 8<<20), wantErr: pattern('e', 65536)},
		{name: "stdin passed through", path: podPath, cmd: []string{"cat"}, stdin: stdin,
			wantOut: stdin, wantErr: []byte{}},
		{name: "empty stdin", path: podPath, cmd: []string{"cat"}, stdin: []byte{},
			wantOut: []byte{}, wantErr: []byte{}},
	}
	for _, transport := range transports {
		for _, tc := range cases {
			t.Run(transport+"/"+tc.name, func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				opts := remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr}
				if tc.slowReader {
					opts.Stdout = &slowWriter{w: &stdout, delay: 300 * time.Millisecond}
				}
				if tc.stdin != nil {
					opts.Stdin = bytes.NewReader(tc.stdin)
				}
				err := execClient(t, transport, ts.base, tc.path, tc.cmd, opts)
				require.NoError(t, err)
				assertSameBytes(t, tc.wantOut, stdout.Bytes(), "stdout")
				assertSameBytes(t, tc.wantErr, stderr.Bytes(), "stderr")
			})
		}
	}
}

func TestExecExitCode(t *testing.T) {
	ts := startServer(t, newFakeRuntime(), Options{})
	cases := []struct {
		name string
		cmd  []string
		code int
	}{
		{"utilexec.CodeExitError", []string{"exit", "3"}, 3},
		{"wrapped CodeExitError", []string{"exit-wrapped", "4"}, 4},
		{"os/exec.ExitError", []string{"sh", "echo partial; exit 7"}, 7},
		{"killed by SIGKILL is 128+9", []string{"sh", "kill -KILL $$"}, 137},
	}
	for _, transport := range transports {
		for _, tc := range cases {
			t.Run(transport+"/"+tc.name, func(t *testing.T) {
				var stdout bytes.Buffer
				err := execClient(t, transport, ts.base, podPath, tc.cmd, remotecommand.StreamOptions{Stdout: &stdout})
				exitErr, ok := errors.AsType[clientexec.CodeExitError](err)
				require.Truef(t, ok, "want client-go exec.CodeExitError, got %T: %v", err, err)
				assert.Equal(t, tc.code, exitErr.Code)
				if tc.cmd[0] == "sh" && tc.code == 7 {
					assert.Equal(t, "partial\n", stdout.String(), "output before the exit")
				}
			})
		}
	}
}

func TestExecFailures(t *testing.T) {
	rt := newFakeRuntime()
	withChecker := startServer(t, rt, Options{})
	// Embedding hides CheckContainer: not-found then surfaces after the upgrade.
	withoutChecker := startServer(t, struct{ Runtime }{rt}, Options{})
	cases := []struct {
		name         string
		server       *testServer
		path         string
		cmd          []string
		wantInErr    []string
		wantNotFound bool // an *apierrors.StatusError NotFound (SPDY dialer only)
	}{
		{name: "unknown pod, checked before upgrade", server: withChecker, path: "/exec/ns/nope/c", cmd: []string{"echo"},
			wantInErr: []string{`pod "ns/nope" not found`}, wantNotFound: true},
		{name: "unknown container, checked before upgrade", server: withChecker, path: "/exec/ns/pod/nope", cmd: []string{"echo"},
			wantInErr: []string{`container "nope" not found in pod "ns/pod"`}, wantNotFound: true},
		{name: "wrong pod UID", server: withChecker, path: "/exec/ns/pod/other-uid/c", cmd: []string{"echo"},
			wantInErr: []string{`pod "ns/pod" (UID other-uid) not found`}, wantNotFound: true},
		{name: "unknown pod, reported by Exec", server: withoutChecker, path: "/exec/ns/nope/c", cmd: []string{"echo"},
			wantInErr: []string{`pod "ns/nope" not found`}},
		{name: "command cannot run", server: withChecker, path: podPath, cmd: []string{"fail"},
			wantInErr: []string{"error executing command in container", "boom"}},
	}
	for _, transport := range transports {
		for _, tc := range cases {
			t.Run(transport+"/"+tc.name, func(t *testing.T) {
				var stdout bytes.Buffer
				err := execClient(t, transport, tc.server.base, tc.path, tc.cmd, remotecommand.StreamOptions{Stdout: &stdout})
				require.Error(t, err)
				_, isExit := errors.AsType[clientexec.ExitError](err)
				assert.False(t, isExit, "a failure is not an exit code: %v", err)
				for _, want := range tc.wantInErr {
					assert.Contains(t, err.Error(), want)
				}
				if tc.wantNotFound && transport == spdy {
					assert.Truef(t, apierrors.IsNotFound(err), "want a NotFound StatusError, got %T: %v", err, err)
				}
			})
		}
	}
}

// TestExecShutdown checks that ending Serve's context cancels the Exec of a
// session in flight and that Serve then returns.
func TestExecShutdown(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			rt := newFakeRuntime()
			ts := startServer(t, rt, Options{ShutdownTimeout: 100 * time.Millisecond})
			done := make(chan error, 1)
			go func() {
				done <- execClient(t, transport, ts.base, podPath, []string{"block"}, remotecommand.StreamOptions{Stdout: io.Discard})
			}()
			select {
			case <-rt.running:
			case <-time.After(5 * time.Second):
				t.Fatal("exec did not start")
			}
			ts.stop()
			select {
			case err := <-ts.served:
				require.NoError(t, err)
				ts.served <- err // for the cleanup's check
			case <-time.After(5 * time.Second):
				t.Fatal("Serve did not return")
			}
			select {
			case err := <-done:
				require.Error(t, err, "the cancelled command is a failure")
			case <-time.After(5 * time.Second):
				t.Fatal("the exec client did not return")
			}
		})
	}
}

func TestExitError(t *testing.T) {
	killed := exec.Command("/bin/sh", "-c", "kill -TERM $$").Run()
	cases := []struct {
		name     string
		err      error
		wantCode int // -1: not an exit code
	}{
		{"nil", nil, -1},
		{"plain error", errors.New("x"), -1},
		{"CodeExitError", utilexec.CodeExitError{Err: errors.New("x"), Code: 2}, 2},
		{"wrapped CodeExitError", fmt.Errorf("a: %w", utilexec.CodeExitError{Err: errors.New("x"), Code: 5}), 5},
		{"signalled process", fmt.Errorf("run: %w", killed), 143},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := exitError(tc.err)
			ee, ok := got.(utilexec.ExitError) // ServeExec's own, unwrapping-free check
			if tc.wantCode < 0 {
				assert.False(t, ok && ee.Exited(), "got exit error %v", got)
				assert.Equal(t, tc.err, got)
				return
			}
			require.True(t, ok, "got %T", got)
			assert.True(t, ee.Exited())
			assert.Equal(t, tc.wantCode, ee.ExitStatus())
		})
	}
}

// slowWriter delays its first write, so the output backs up in the socket
// buffers while the server finishes the session.
type slowWriter struct {
	w     io.Writer
	delay time.Duration
	slept bool
}

func (s *slowWriter) Write(p []byte) (int, error) {
	if !s.slept {
		time.Sleep(s.delay)
		s.slept = true
	}
	return s.w.Write(p)
}

// assertSameBytes compares byte streams without dumping megabytes.
func assertSameBytes(t *testing.T, want, got []byte, what string) {
	t.Helper()
	if bytes.Equal(want, got) {
		return
	}
	i := 0
	for i < min(len(want), len(got)) && want[i] == got[i] {
		i++
	}
	t.Errorf("%s: got %d bytes, want %d; first difference at byte %d: got %q, want %q", what, len(got), len(want), i,
		excerpt(got, i), excerpt(want, i))
}

func excerpt(b []byte, i int) string {
	return strings.ToValidUTF8(string(b[i:min(len(b), i+32)]), "?")
}
