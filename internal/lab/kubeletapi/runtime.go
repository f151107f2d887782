package kubeletapi

import (
	"context"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/remotecommand"
)

// Runtime is what the node agent implements for the kubelet API: it runs
// commands in containers and tells where their logs are.
type Runtime interface {
	// Exec runs cmd in the container and returns when it has exited.
	//
	// stdin is nil unless the client asked for it (input=1); it returns EOF
	// when the client closes its stdin. stdout and stderr are never nil (a
	// stream the client did not ask for discards what is written to it). Exec
	// may close them when the command's output ends; the server closes them
	// after Exec returns in any case. resize is nil unless tty is true.
	//
	// ctx ends when the server shuts down; the command should then be killed.
	// A client that goes away is noticed through failing writes, not ctx.
	//
	// When the command ran and exited non-zero, the error must carry the exit
	// code: a k8s.io/utils/exec.ExitError whose Exited() is true (for instance
	// exec.CodeExitError{Code: 3}) or an *os/exec.ExitError, possibly wrapped;
	// a process killed by signal n is reported as exit code 128+n. Any other
	// error means the command could not run, and a *NotFoundError means the
	// pod or container is not on this node.
	Exec(ctx context.Context, ref ContainerRef, cmd []string, stdin io.Reader, stdout, stderr io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize) error

	// Logs returns where the log of the container is, or of its previous
	// (terminated) instance when previous is true. A *NotFoundError means the
	// pod, the container or its previous instance is not on this node.
	Logs(ref ContainerRef, previous bool) (LogSource, error)
}

// ContainerChecker is implemented by a Runtime that can tell, before an exec
// session is set up, whether a container exists. The server then answers an
// exec into an unknown pod or container with HTTP 404 before the stream
// upgrade, as the kubelet does, and clients see a NotFound status error.
// Without it, the *NotFoundError returned by Exec reaches the client only as
// the failure status of the exec session.
type ContainerChecker interface {
	// CheckContainer returns a *NotFoundError when the container is not on
	// this node, and nil when it is.
	CheckContainer(ctx context.Context, ref ContainerRef) error
}

// ContainerRef names a container as the kubelet API paths do.
type ContainerRef struct {
	Namespace string
	Pod       string
	Container string
	// UID is set only when the request path carries the pod's UID
	// (/exec/{namespace}/{pod}/{uid}/{container}); a Runtime must then
	// match it as well as the name.
	UID types.UID
}

// String returns "namespace/pod/container".
func (r ContainerRef) String() string {
	return r.Namespace + "/" + r.Pod + "/" + r.Container
}

// LogSource is where a container's log is and whether it can still grow.
type LogSource struct {
	// Path is the container's log file: its stdout and stderr as plain bytes
	// (no CRI timestamps or stream tags), appended while it runs. It must
	// exist when Logs returns; it may be truncated to zero (copytruncate
	// rotation) but not replaced.
	Path string
	// Done is closed once the container has exited and everything it wrote
	// is in the file; a follow request then sends the rest and ends. A nil
	// Done means the container is not running (a previous instance, or one
	// that has exited), so follow ends at the end of the file.
	Done <-chan struct{}
}

// Missing says what a NotFoundError did not find.
type Missing int

const (
	// MissingPodOrContainer is the zero value: the pod or its container.
	MissingPodOrContainer Missing = iota
	// MissingPod: no pod of that name (and UID, if given) on this node.
	MissingPod
	// MissingContainer: the pod is here, the container is not.
	MissingContainer
	// MissingPrevious: the container has no terminated previous instance.
	MissingPrevious
)

// NotFoundError reports that the pod or container a request names is not on
// this node. The server answers it with HTTP 404 and the error's message.
type NotFoundError struct {
	Ref     ContainerRef
	Missing Missing
}

// Error names the pod and the container, as the kubelet's messages do.
func (e *NotFoundError) Error() string {
	pod := fmt.Sprintf("%q", e.Ref.Namespace+"/"+e.Ref.Pod)
	if e.Ref.UID != "" {
		pod += fmt.Sprintf(" (UID %s)", e.Ref.UID)
	}
	switch e.Missing {
	case MissingPod:
		return fmt.Sprintf("pod %s not found on this node", pod)
	case MissingContainer:
		return fmt.Sprintf("container %q not found in pod %s", e.Ref.Container, pod)
	case MissingPrevious:
		return fmt.Sprintf("previous terminated container %q in pod %s not found", e.Ref.Container, pod)
	default:
		return fmt.Sprintf("container %q of pod %s not found on this node", e.Ref.Container, pod)
	}
}
