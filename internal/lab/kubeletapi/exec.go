package kubeletapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	osexec "os/exec"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/httpstream/wsstream"
	remotecommandconsts "k8s.io/apimachinery/pkg/util/remotecommand"
	"k8s.io/client-go/tools/remotecommand"
	remotecommandserver "k8s.io/kubelet/pkg/cri/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"
)

// handleExec serves /exec. Before any upgrade it checks the request (400)
// and, when the Runtime can tell, the container (404), answering with a
// metav1.Status body that client-go turns into a StatusError. Then:
//
//   - a WebSocket client offering v5.channel.k8s.io (client-go's
//     NewWebSocketExecutor, kubectl >= 1.30 talking to a kubelet directly) is
//     served by serveExecV5, since the kubelet library knows only v1-v4 over
//     WebSockets;
//   - everything else (SPDY v1-v4, which the apiserver always uses towards
//     the kubelet, and WebSocket v1-v4) by the kubelet's own ServeExec.
func (s *Server) handleExec(w http.ResponseWriter, r *http.Request) {
	ref := refFromPath(r)
	cmd := r.URL.Query()[corev1.ExecCommandParam]
	if len(cmd) == 0 {
		writeStatus(w, apierrors.NewBadRequest("exec needs a command: pass it as one or more command= query parameters"))
		return
	}
	streams, err := remotecommandserver.NewOptions(r)
	if err != nil {
		writeStatus(w, apierrors.NewBadRequest(fmt.Sprintf("exec: %v (query input=1, output=1 or error=1)", err)))
		return
	}
	if checker, ok := s.rt.(ContainerChecker); ok {
		if err := checker.CheckContainer(r.Context(), ref); err != nil {
			writeStatus(w, statusFor(err))
			return
		}
	}

	log := s.log.With("namespace", ref.Namespace, "pod", ref.Pod, "container", ref.Container, "command", cmd[0])
	ex := &executor{rt: s.rt, ref: ref, streams: *streams}
	start := time.Now()
	if wsstream.IsWebSocketRequestWithStreamCloseProtocol(r) {
		s.serveExecV5(w, r, ex, cmd, streams)
	} else {
		remotecommandserver.ServeExec(w, r, ex, ref.Pod, ref.UID, ref.Container, cmd, streams,
			s.opts.StreamIdleTimeout, s.opts.StreamCreationTimeout, remotecommandconsts.SupportedStreamingProtocols)
	}
	if ex.ran {
		log.Debug("exec finished", "duration", time.Since(start), "error", ex.err)
	} else {
		log.Info("exec session not established", "duration", time.Since(start))
	}
}

// refFromPath reads the container reference from the route's wildcards.
func refFromPath(r *http.Request) ContainerRef {
	return ContainerRef{
		Namespace: r.PathValue("namespace"),
		Pod:       r.PathValue("pod"),
		Container: r.PathValue("container"),
		UID:       types.UID(r.PathValue("uid")),
	}
}

// executor adapts a Runtime, for one request, to the kubelet library's
// Executor.
type executor struct {
	rt      Runtime
	ref     ContainerRef
	streams remotecommandserver.Options

	// ran and err record the outcome for the request log.
	ran bool
	err error
}

// ExecInContainer runs the command through the Runtime and returns its
// error in the form ServeExec turns into the exec status: an
// utilexec.ExitError for a non-zero exit, anything else for a failure.
func (e *executor) ExecInContainer(ctx context.Context, _ string, _ types.UID, _ string, cmd []string, in io.Reader, out, errOut io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize, _ time.Duration) error {
	if !e.streams.Stdin {
		in = nil
	}
	if out == nil || !e.streams.Stdout {
		out = discard{}
	}
	if errOut == nil || !e.streams.Stderr {
		errOut = discard{}
	}
	e.ran = true
	e.err = exitError(e.rt.Exec(ctx, e.ref, cmd, in, out, errOut, tty, resize))
	return e.err
}

// discard is the io.WriteCloser for a stream the client did not ask for.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) Close() error                { return nil }

// exitError returns err in the form the exec status code needs: ServeExec
// reports an exit code only for an unwrapped utilexec.ExitError whose
// Exited() is true. It unwraps one, converts an *os/exec.ExitError, and
// reports death by signal n as exit code 128+n, as shells and container
// runtimes do. Other errors are returned as they are.
func exitError(err error) error {
	if err == nil {
		return nil
	}
	if ee, ok := errors.AsType[utilexec.ExitError](err); ok && ee.Exited() {
		return ee
	}
	if oe, ok := errors.AsType[*osexec.ExitError](err); ok {
		if oe.Exited() {
			return utilexec.CodeExitError{Err: err, Code: oe.ExitCode()}
		}
		if ws, ok := oe.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return utilexec.CodeExitError{Err: err, Code: 128 + int(ws.Signal())}
		}
	}
	return err
}

// statusFor maps an error to a Status: NotFound (404) for a *NotFoundError,
// InternalError (500) otherwise. The message is the error's.
func statusFor(err error) *apierrors.StatusError {
	if nf, ok := errors.AsType[*NotFoundError](err); ok {
		return &apierrors.StatusError{ErrStatus: metav1.Status{
			Status:  metav1.StatusFailure,
			Code:    http.StatusNotFound,
			Reason:  metav1.StatusReasonNotFound,
			Message: err.Error(),
			Details: &metav1.StatusDetails{Name: nf.Ref.Pod, Kind: "pods"},
		}}
	}
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusInternalServerError,
		Reason:  metav1.StatusReasonInternalError,
		Message: err.Error(),
	}}
}

// writeStatus answers a request that has not been upgraded with a
// metav1.Status body: client-go's SPDY and WebSocket dialers decode it into
// an *apierrors.StatusError, so callers can test apierrors.IsNotFound.
func writeStatus(w http.ResponseWriter, se *apierrors.StatusError) {
	st := se.Status()
	st.Kind, st.APIVersion = "Status", "v1"
	if st.Status == "" {
		st.Status = metav1.StatusFailure
	}
	body, err := json.Marshal(st)
	if err != nil {
		http.Error(w, st.Message, int(st.Code))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(int(st.Code))
	_, _ = w.Write(append(body, '\n'))
}
