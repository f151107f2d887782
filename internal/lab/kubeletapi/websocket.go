package kubeletapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	remotecommandconsts "k8s.io/apimachinery/pkg/util/remotecommand"
	"k8s.io/client-go/tools/remotecommand"
	remotecommandserver "k8s.io/kubelet/pkg/cri/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"
)

const (
	// wsBufferSize matches client-go's WebSocket buffers (32 KiB of data
	// plus room for the channel byte).
	wsBufferSize = 32*1024 + 1024
	// wsMaxPayload caps one data message, so that a large write does not
	// hold the connection from the other output stream for long.
	wsMaxPayload = 32 * 1024
	// finishTimeout bounds the wait for the client to close the connection
	// once the status and the close frame are sent. What the client still
	// has to read then is at most the socket buffers' worth.
	finishTimeout = 2 * time.Minute
)

// serveExecV5 runs one exec session over the v5.channel.k8s.io WebSocket
// subprotocol. Each binary message carries one channel byte (0 stdin,
// 1 stdout, 2 stderr, 3 status, 4 resize) and data; a message [255, n] from
// the client half-closes its channel n (stdin EOF). The status is the same
// JSON metav1.Status as in SPDY v4.
//
// The session ends with a WebSocket close frame after the status, and the
// server closes the TCP connection only once the client has closed its side
// (or after finishTimeout): closing first, with client frames (heartbeat
// pings, the stdin CLOSE) unread, makes the kernel reset the connection and
// drop output still in the socket buffers, truncating a slow client's stdout.
func (s *Server) serveExecV5(w http.ResponseWriter, r *http.Request, ex *executor, cmd []string, opts *remotecommandserver.Options) {
	up := websocket.Upgrader{
		Subprotocols:     []string{remotecommandconsts.StreamProtocolV5Name},
		ReadBufferSize:   wsBufferSize,
		WriteBufferSize:  wsBufferSize,
		HandshakeTimeout: s.opts.StreamCreationTimeout,
	}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil { // Upgrade has answered the client
		s.log.Debug("exec WebSocket upgrade failed", "error", err)
		return
	}
	sess := newWSSession(conn, s.opts.StreamIdleTimeout, opts)
	go sess.readLoop()

	// Tell the client the session is up with an empty message on the lowest
	// writable channel, as the kubelet and the apiserver do.
	first := byte(remotecommandconsts.StreamErr)
	switch {
	case opts.Stdout:
		first = remotecommandconsts.StreamStdOut
	case opts.Stderr:
		first = remotecommandconsts.StreamStdErr
	}
	if err := sess.send(first, nil); err != nil {
		s.log.Info("exec WebSocket session lost at start", "error", err)
		_ = conn.Close()
		return
	}

	var stdin io.Reader
	if sess.stdinR != nil {
		stdin = sess.stdinR
	}
	var resize <-chan remotecommand.TerminalSize
	if sess.resizeR != nil {
		resize = sess.resizeEvents()
	}
	err = ex.ExecInContainer(r.Context(), ex.ref.Pod, ex.ref.UID, ex.ref.Container, cmd, stdin,
		wsStream{sess, remotecommandconsts.StreamStdOut}, wsStream{sess, remotecommandconsts.StreamStdErr},
		opts.TTY, resize, 0)
	if err := sess.finish(r.Context(), execStatus(err)); err != nil {
		s.log.Info("exec WebSocket session ended uncleanly", "error", err)
	}
}

// execStatus is the exec session's final status for the error stream, in the
// form ServeExec writes it.
func execStatus(err error) *apierrors.StatusError {
	if err == nil {
		return &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusSuccess}}
	}
	if ee, ok := err.(utilexec.ExitError); ok && ee.Exited() {
		return &apierrors.StatusError{ErrStatus: metav1.Status{
			Status:  metav1.StatusFailure,
			Reason:  remotecommandconsts.NonZeroExitCodeReason,
			Message: fmt.Sprintf("command terminated with non-zero exit code: %v", ee),
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{
				Type:    remotecommandconsts.ExitCodeCauseType,
				Message: fmt.Sprint(ee.ExitStatus()),
			}}},
		}}
	}
	return statusFor(fmt.Errorf("error executing command in container: %w", err))
}

// wsSession is the server side of one v5 WebSocket exec session.
type wsSession struct {
	conn *websocket.Conn
	idle time.Duration

	// writeMu serialises data messages: gorilla allows one writer at a time.
	writeMu sync.Mutex

	// The input pipes, fed by readLoop; nil when not requested.
	stdinR, resizeR *io.PipeReader
	stdinW, resizeW *io.PipeWriter

	// readDone is closed when readLoop ends: the client has closed the
	// connection or gone away.
	readDone chan struct{}
	// finished is closed when the command has ended.
	finished chan struct{}
}

func newWSSession(conn *websocket.Conn, idle time.Duration, opts *remotecommandserver.Options) *wsSession {
	s := &wsSession{conn: conn, idle: idle, readDone: make(chan struct{}), finished: make(chan struct{})}
	if opts.Stdin {
		s.stdinR, s.stdinW = io.Pipe()
	}
	if opts.TTY {
		s.resizeR, s.resizeW = io.Pipe()
	}
	// Any frame from the client, heartbeat pings included, keeps the
	// session from idling out.
	conn.SetPingHandler(func(data string) error {
		_ = conn.SetReadDeadline(time.Now().Add(idle))
		err := conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(idle))
		if ne, ok := errors.AsType[net.Error](err); errors.Is(err, websocket.ErrCloseSent) || ok && ne.Timeout() {
			return nil // as gorilla's default handler: not fatal to the read
		}
		return err
	})
	return s
}

// readLoop demultiplexes the client's messages into the stdin and resize
// pipes until the connection ends, then closes them: with EOF after a normal
// close, with the connection's error otherwise.
func (s *wsSession) readLoop() {
	defer close(s.readDone)
	var err error
	defer func() {
		if websocket.IsCloseError(err, websocket.CloseNormalClosure) {
			err = nil
		} else {
			err = fmt.Errorf("exec client connection: %w", err)
		}
		for _, w := range []*io.PipeWriter{s.stdinW, s.resizeW} {
			if w != nil {
				_ = w.CloseWithError(err)
			}
		}
	}()
	for {
		_ = s.conn.SetReadDeadline(time.Now().Add(s.idle))
		var typ int
		var msg io.Reader
		typ, msg, err = s.conn.NextReader()
		if err != nil {
			return
		}
		var id [1]byte
		if typ != websocket.BinaryMessage || readByte(msg, id[:]) != nil {
			continue // v5 messages are binary and start with a channel byte
		}
		switch id[0] {
		case remotecommandconsts.StreamClose:
			if readByte(msg, id[:]) == nil {
				if w := s.input(id[0]); w != nil {
					_ = w.Close()
				}
			}
		default:
			if w := s.input(id[0]); w != nil {
				// Blocks until the command reads; after a CLOSE or once
				// finish closed the reader, the data is dropped.
				_, _ = io.Copy(w, msg)
			}
		}
	}
}

func readByte(r io.Reader, b []byte) error {
	_, err := io.ReadFull(r, b[:1])
	return err
}

// input returns the pipe for a client-to-server channel, or nil.
func (s *wsSession) input(id byte) *io.PipeWriter {
	switch id {
	case remotecommandconsts.StreamStdIn:
		return s.stdinW
	case remotecommandconsts.StreamResize:
		return s.resizeW
	}
	return nil
}

// resizeEvents decodes the resize channel's JSON terminal sizes.
func (s *wsSession) resizeEvents() <-chan remotecommand.TerminalSize {
	ch := make(chan remotecommand.TerminalSize)
	go func() {
		defer close(ch)
		dec := json.NewDecoder(s.resizeR)
		for {
			var size remotecommand.TerminalSize
			if err := dec.Decode(&size); err != nil {
				return
			}
			select {
			case ch <- size:
			case <-s.finished:
				return
			}
		}
	}()
	return ch
}

// send writes data as one or more messages on channel id.
func (s *wsSession) send(id byte, data []byte) error {
	for first := true; first || len(data) > 0; first = false {
		chunk := data[:min(len(data), wsMaxPayload)]
		if err := s.sendMessage(id, chunk); err != nil {
			return fmt.Errorf("exec channel %d: %w", id, err)
		}
		data = data[len(chunk):]
	}
	return nil
}

func (s *wsSession) sendMessage(id byte, data []byte) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	_ = s.conn.SetWriteDeadline(time.Now().Add(s.idle))
	mw, err := s.conn.NextWriter(websocket.BinaryMessage)
	if err != nil {
		return err
	}
	if _, err := mw.Write([]byte{id}); err != nil {
		_ = mw.Close()
		return err
	}
	if _, err := mw.Write(data); err != nil {
		_ = mw.Close()
		return err
	}
	return mw.Close()
}

// finish ends the session: it stops taking input, writes the status, sends
// the close frame and waits for the client to close (see serveExecV5), ctx
// to end or finishTimeout, then closes the connection.
func (s *wsSession) finish(ctx context.Context, status *apierrors.StatusError) error {
	close(s.finished)
	for _, r := range []*io.PipeReader{s.stdinR, s.resizeR} {
		if r != nil {
			_ = r.Close()
		}
	}
	body, err := json.Marshal(status.Status())
	if err == nil {
		err = s.send(remotecommandconsts.StreamErr, body)
	}
	if err == nil {
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
		err = s.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(s.idle))
	}
	if err == nil {
		timer := time.NewTimer(finishTimeout)
		defer timer.Stop()
		select {
		case <-s.readDone:
		case <-ctx.Done():
		case <-timer.C:
			err = fmt.Errorf("client did not close the connection within %v of the end", finishTimeout)
		}
	}
	return errors.Join(err, s.conn.Close())
}

// wsStream is an output channel of a session. Close is a no-op: v5 has no
// server-side half-close, the session's end closes every channel.
type wsStream struct {
	s  *wsSession
	id byte
}

func (w wsStream) Write(p []byte) (int, error) {
	if err := w.s.send(w.id, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (wsStream) Close() error { return nil }
