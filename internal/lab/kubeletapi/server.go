package kubeletapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Defaults of the Options timeouts.
const (
	// DefaultStreamIdleTimeout is the kubelet's default
	// streamingConnectionIdleTimeout.
	DefaultStreamIdleTimeout = 4 * time.Hour
	// DefaultStreamCreationTimeout is the kubelet's default time for a SPDY
	// client to open its streams after the upgrade.
	DefaultStreamCreationTimeout = 30 * time.Second
	// DefaultShutdownTimeout bounds how long Serve waits for requests in
	// flight once its context ends.
	DefaultShutdownTimeout = 5 * time.Second
)

// Options configure a Server. The zero value is usable with Handler; Serve
// needs a Certificate.
type Options struct {
	// Certificate is the TLS serving certificate (see SelfSignedCert).
	Certificate tls.Certificate
	// StreamIdleTimeout closes an exec session that has carried no data for
	// this long. Zero means DefaultStreamIdleTimeout.
	StreamIdleTimeout time.Duration
	// StreamCreationTimeout bounds the wait for a SPDY client's streams after
	// the upgrade, and the WebSocket handshake. Zero means
	// DefaultStreamCreationTimeout.
	StreamCreationTimeout time.Duration
	// ShutdownTimeout bounds the graceful part of Serve's shutdown; after it,
	// follow requests and exec sessions are cancelled. Zero means
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// Log receives request and error records. Nil discards them.
	Log *slog.Logger
}

// Server serves the kubelet HTTP API of one lab node from a Runtime.
type Server struct {
	rt   Runtime
	opts Options
	log  *slog.Logger
	// followPoll is how often a follow request looks for appended data.
	followPoll time.Duration
}

// New returns a Server that serves rt. Zero Options fields take their
// defaults.
func New(rt Runtime, opts Options) *Server {
	if opts.StreamIdleTimeout <= 0 {
		opts.StreamIdleTimeout = DefaultStreamIdleTimeout
	}
	if opts.StreamCreationTimeout <= 0 {
		opts.StreamCreationTimeout = DefaultStreamCreationTimeout
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = DefaultShutdownTimeout
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{rt: rt, opts: opts, log: log, followPoll: 100 * time.Millisecond}
}

// Handler returns the kubelet API routes:
//
//	GET|POST /exec/{namespace}/{pod}/{container}        exec (SPDY or WebSocket)
//	GET|POST /exec/{namespace}/{pod}/{uid}/{container}  exec, pod matched by UID too
//	GET      /containerLogs/{namespace}/{pod}/{container}
//	GET      /healthz                                    "ok"
//	         /run/..., /attach/..., /portForward/...    501 Not Implemented
//
// Any other path is 404.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		mux.HandleFunc(method+" /exec/{namespace}/{pod}/{container}", s.handleExec)
		mux.HandleFunc(method+" /exec/{namespace}/{pod}/{uid}/{container}", s.handleExec)
	}
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", s.handleContainerLogs)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusOK, "ok")
	})
	for _, p := range []string{"run", "attach", "portForward"} {
		msg := fmt.Sprintf("/%s is not implemented by the lab kubelet; use /exec and /containerLogs", p)
		notImplemented := func(w http.ResponseWriter, _ *http.Request) {
			writeText(w, http.StatusNotImplemented, msg)
		}
		mux.HandleFunc("/"+p, notImplemented)
		mux.HandleFunc("/"+p+"/", notImplemented)
	}
	return mux
}

// Serve serves the API over TLS on ln until ctx ends, then shuts down: it
// stops accepting, gives requests in flight ShutdownTimeout to finish, then
// cancels the rest (follow requests, exec sessions) and waits briefly for
// their handlers to return. It returns nil after a shutdown caused by ctx,
// and an error if serving failed or handlers outlived the shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if len(s.opts.Certificate.Certificate) == 0 {
		return errors.New("kubelet API: no serving certificate in Options")
	}
	// Request contexts derive from base, which is cancelled at the end of the
	// graceful period: net/http does not cancel them for hijacked (exec)
	// connections, nor does Shutdown wait for those.
	base, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	var handlers sync.WaitGroup
	h := s.Handler()
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			handlers.Add(1)
			defer handlers.Done()
			h.ServeHTTP(w, r)
		}),
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{s.opts.Certificate},
			MinVersion:   tls.VersionTLS12,
		},
		ReadHeaderTimeout: 30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return base },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	served := make(chan error, 1)
	go func() { served <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-served:
		return fmt.Errorf("kubelet API on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}

	s.log.Debug("kubelet API shutting down", "addr", ln.Addr().String())
	graceCtx, graceCancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer graceCancel()
	shutdownErr := srv.Shutdown(graceCtx)
	cancel()
	if shutdownErr != nil {
		_ = srv.Close() // the forced part of the shutdown; shutdownErr says why
	}
	<-served // http.ErrServerClosed once Shutdown or Close has begun

	drained := make(chan struct{})
	go func() { handlers.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(handlerDrainTimeout):
		return fmt.Errorf("kubelet API shutdown: handlers still running %v after cancelling them", handlerDrainTimeout)
	}
	if shutdownErr != nil {
		s.log.Info("kubelet API shutdown cut requests short", "error", shutdownErr)
	}
	return nil
}

// handlerDrainTimeout bounds the wait for handlers once their contexts are
// cancelled: an exec handler returns when the Runtime's Exec does.
const handlerDrainTimeout = 2 * time.Second

// writeText writes a plain-text response, as the kubelet does for errors of
// non-streaming requests (the apiserver shows the body to the user).
func writeText(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = fmt.Fprintln(w, msg)
}
