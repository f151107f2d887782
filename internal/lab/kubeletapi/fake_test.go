package kubeletapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	osexec "os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/utils/exec"
)

// The one container the fake runtime knows, and the UID of its pod.
const (
	fakeNS, fakePod, fakeContainer = "ns", "pod", "c"
	fakeUID                        = "uid-1"
)

// fakeRuntime runs a few built-in commands (see Exec) in one container, and
// serves the log files set in logs.
type fakeRuntime struct {
	mu       sync.Mutex
	logs     map[bool]LogSource // by previous
	previous []bool             // the previous argument of each Logs call
	// running is signalled when the "block" command has started.
	running chan struct{}
}

func newFakeRuntime() *fakeRuntime {
	return &fakeRuntime{logs: map[bool]LogSource{}, running: make(chan struct{}, 1)}
}

func (f *fakeRuntime) find(ref ContainerRef) error {
	switch {
	case ref.Namespace != fakeNS || ref.Pod != fakePod || ref.UID != "" && ref.UID != fakeUID:
		return &NotFoundError{Ref: ref, Missing: MissingPod}
	case ref.Container != fakeContainer:
		return &NotFoundError{Ref: ref, Missing: MissingContainer}
	}
	return nil
}

func (f *fakeRuntime) CheckContainer(_ context.Context, ref ContainerRef) error { return f.find(ref) }

// Exec runs cmd[0] with the arguments cmd[1:]:
//
//	echo WORDS...       WORDS to stdout, "err:" WORDS to stderr
//	big OUT ERR         OUT bytes of pattern('o') to stdout and ERR of pattern('e') to stderr, interleaved
//	cat                 stdin to stdout
//	exit N              exec.CodeExitError N; "exit-wrapped N" wraps it
//	sh SCRIPT           /bin/sh -c SCRIPT, for real os/exec exit errors
//	fail                an error: the command could not run
//	block               wait for ctx
func (f *fakeRuntime) Exec(ctx context.Context, ref ContainerRef, cmd []string, stdin io.Reader, stdout, stderr io.WriteCloser, _ bool, _ <-chan remotecommand.TerminalSize) error {
	if err := f.find(ref); err != nil {
		return err
	}
	arg := func(i int) int { n, _ := strconv.Atoi(cmd[i]); return n }
	switch cmd[0] {
	case "echo":
		words := strings.Join(cmd[1:], " ")
		if _, err := fmt.Fprintln(stdout, words); err != nil {
			return err
		}
		_, err := fmt.Fprintln(stderr, "err:"+words)
		return err
	case "big":
		return writeInterleaved(stdout, pattern('o', arg(1)), stderr, pattern('e', arg(2)))
	case "cat":
		if stdin == nil {
			return errors.New("cat: no stdin")
		}
		_, err := io.Copy(stdout, stdin)
		return err
	case "exit":
		return utilexec.CodeExitError{Err: errors.New("exited"), Code: arg(1)}
	case "exit-wrapped":
		return fmt.Errorf("run in container: %w", utilexec.CodeExitError{Err: errors.New("exited"), Code: arg(1)})
	case "sh":
		c := osexec.CommandContext(ctx, "/bin/sh", "-c", cmd[1])
		c.Stdout, c.Stderr = stdout, stderr
		return c.Run()
	case "fail":
		return errors.New("cannot start process: boom")
	case "block":
		f.running <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	}
	return fmt.Errorf("fake runtime: unknown command %q", cmd[0])
}

func (f *fakeRuntime) Logs(ref ContainerRef, previous bool) (LogSource, error) {
	if err := f.find(ref); err != nil {
		return LogSource{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.previous = append(f.previous, previous)
	src, ok := f.logs[previous]
	if !ok {
		return LogSource{}, &NotFoundError{Ref: ref, Missing: MissingPrevious}
	}
	return src, nil
}

// pattern returns n bytes of numbered lines tagged with c, so that a lost,
// repeated or misplaced chunk shows in a comparison.
func pattern(c byte, n int) []byte {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%c%09d\n", c, i)
	}
	return []byte(b.String()[:n])
}

// writeInterleaved writes a and b in alternating 64 KiB chunks.
func writeInterleaved(wa io.Writer, a []byte, wb io.Writer, b []byte) error {
	const chunk = 64 * 1024
	for len(a) > 0 || len(b) > 0 {
		na, nb := min(chunk, len(a)), min(chunk, len(b))
		if _, err := wa.Write(a[:na]); err != nil {
			return err
		}
		if _, err := wb.Write(b[:nb]); err != nil {
			return err
		}
		a, b = a[na:], b[nb:]
	}
	return nil
}

// testServer is a Server serving on a loopback listener for one test.
type testServer struct {
	base   string // https://127.0.0.1:port
	stop   context.CancelFunc
	served chan error
}

// startServer serves rt until the test ends and checks that Serve then
// returns nil.
func startServer(t *testing.T, rt Runtime, opts Options) *testServer {
	t.Helper()
	cert, err := SelfSignedCert([]string{"127.0.0.1"}, time.Hour)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	opts.Certificate = cert
	opts.Log = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := New(rt, opts)
	srv.followPoll = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{base: "https://" + ln.Addr().String(), stop: cancel, served: make(chan error, 1)}
	go func() { ts.served <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-ts.served:
			require.NoError(t, err, "Serve")
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after its context ended")
		}
	})
	return ts
}

// httpClient is an HTTPS client that does not verify the self-signed cert.
func httpClient() *http.Client {
	return &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
	}
}

// Exec transports, as client-go offers them.
const (
	spdy      = "spdy"
	webSocket = "websocket"
)

// execClient runs one exec through client-go against path, with the query
// derived from which streams are set.
func execClient(t *testing.T, transport, base, path string, cmd []string, opts remotecommand.StreamOptions) error {
	t.Helper()
	q := url.Values{"command": cmd}
	for key, on := range map[string]bool{"input": opts.Stdin != nil, "output": opts.Stdout != nil, "error": opts.Stderr != nil} {
		if on {
			q.Set(key, "1")
		}
	}
	u, err := url.Parse(base + path + "?" + q.Encode())
	require.NoError(t, err)
	cfg := &rest.Config{Host: base, TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
	var ex remotecommand.Executor
	switch transport {
	case spdy:
		ex, err = remotecommand.NewSPDYExecutor(cfg, http.MethodPost, u)
	case webSocket:
		ex, err = remotecommand.NewWebSocketExecutor(cfg, http.MethodGet, u.String())
	default:
		t.Fatalf("unknown transport %q", transport)
	}
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return ex.StreamWithContext(ctx, opts)
}
