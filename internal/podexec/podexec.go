// Package podexec runs a command in a pod's container through the API
// server, the one transport every dimension uses (W-OPS-3): WebSocket first
// with SPDY as the fallback (kubectl's order), stdout and stderr kept apart
// (never a TTY, which merges them and injects \r), a deadline for every call,
// and the command's exit code as a typed error.
package podexec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/utils/exec"
)

// Target names the container to run in.
type Target struct {
	Namespace, Pod, Container string
}

func (t Target) String() string {
	if t.Container == "" {
		return t.Namespace + "/" + t.Pod
	}
	return t.Namespace + "/" + t.Pod + "/" + t.Container
}

// Executor runs commands in pods. The fake in tests implements it too.
type Executor interface {
	Exec(ctx context.Context, t Target, argv []string, stdin io.Reader, stdout, stderr io.Writer) error
}

// ExitError is a command that ran and exited non-zero.
type ExitError struct {
	Target Target
	Argv   []string
	Code   int
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("exec in %s: %q exited with code %d", e.Target, e.Argv, e.Code)
}

// Client executes through the API server.
type Client struct {
	Config *rest.Config
	Client kubernetes.Interface
}

// Exec runs argv in the target container until it exits or ctx ends. ctx
// must carry a deadline derived from what the command does (e.g. the tool's
// duration plus a margin): Exec refuses a call without one.
func (c Client) Exec(ctx context.Context, t Target, argv []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if _, ok := ctx.Deadline(); !ok {
		return fmt.Errorf("exec in %s: no deadline on the context (derive one from the command's duration)", t)
	}
	req := c.Client.CoreV1().RESTClient().Post().Resource("pods").Namespace(t.Namespace).Name(t.Pod).SubResource("exec")
	req.VersionedParams(&corev1.PodExecOptions{
		Container: t.Container, Command: argv,
		Stdin: stdin != nil, Stdout: stdout != nil, Stderr: stderr != nil, TTY: false,
	}, scheme.ParameterCodec)
	ws, err := remotecommand.NewWebSocketExecutor(c.Config, http.MethodGet, req.URL().String())
	if err != nil {
		return fmt.Errorf("exec in %s: websocket executor: %w", t, err)
	}
	spdy, err := remotecommand.NewSPDYExecutor(c.Config, http.MethodPost, req.URL())
	if err != nil {
		return fmt.Errorf("exec in %s: spdy executor: %w", t, err)
	}
	ex, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return err
	}
	err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: stdout, Stderr: stderr})
	var ee exec.ExitError
	if errors.As(err, &ee) && ee.Exited() {
		return &ExitError{Target: t, Argv: argv, Code: ee.ExitStatus()}
	}
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("exec in %s: %q: %w (%v)", t, argv, ctx.Err(), err)
		}
		return fmt.Errorf("exec in %s: %q: %w", t, argv, err)
	}
	return nil
}

// Output runs argv and returns its stdout; on failure the error includes
// stderr, so that a failing tool explains itself.
func Output(ctx context.Context, e Executor, t Target, argv ...string) ([]byte, error) {
	var out, errb bytes.Buffer
	if err := e.Exec(ctx, t, argv, nil, &out, &errb); err != nil {
		if s := bytes.TrimSpace(errb.Bytes()); len(s) > 0 {
			return out.Bytes(), fmt.Errorf("%w; stderr: %s", err, truncate(s, 2000))
		}
		return out.Bytes(), err
	}
	return out.Bytes(), nil
}

func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "..."
}
