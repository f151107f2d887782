package kubeletapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// logOptions are the containerLogs query parameters, as v1.PodLogOptions
// names them. Only those the lab honours are kept.
type logOptions struct {
	follow   bool
	previous bool
	// tailLines is the number of lines to start from the end; -1 means all.
	tailLines int64
	// limitBytes caps the response; 0 means no limit.
	limitBytes int64
}

// optionError is an invalid containerLogs query, with the HTTP code the
// kubelet gives it: 400 when a value does not parse, 422 when it is out of
// range.
type optionError struct {
	code int
	msg  string
}

func (e *optionError) Error() string { return e.msg }

// parseLogOptions reads the query the apiserver forwards for `kubectl logs`:
// follow, previous, tailLines (or the legacy tail, where "all" means no
// limit), limitBytes, and timestamps, sinceSeconds, sinceTime and stream,
// which are checked but ignored: the lab's log files carry no timestamps and
// do not separate stdout from stderr, so every line is sent, without
// timestamps. Booleans follow the apiserver's query rules: absent, "0" or
// "false" is false, any other value true. Unknown parameters are ignored.
func parseLogOptions(q url.Values) (logOptions, error) {
	opts := logOptions{
		follow:    queryBool(q, "follow"),
		previous:  queryBool(q, "previous"),
		tailLines: -1,
	}
	_ = queryBool(q, "timestamps") // accepted, not honoured (see above)
	tail := q.Get("tailLines")
	if legacy := q.Get("tail"); legacy != "" {
		tail = legacy
		if legacy == "all" {
			tail = ""
		}
	}
	var err error
	if opts.tailLines, err = queryInt(tail, "tailLines", 0, -1); err != nil {
		return logOptions{}, err
	}
	if opts.limitBytes, err = queryInt(q.Get("limitBytes"), "limitBytes", 1, 0); err != nil {
		return logOptions{}, err
	}
	sinceSeconds, err := queryInt(q.Get("sinceSeconds"), "sinceSeconds", 1, 0)
	if err != nil {
		return logOptions{}, err
	}
	if s := q.Get("sinceTime"); s != "" {
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			return logOptions{}, &optionError{http.StatusBadRequest, fmt.Sprintf("sinceTime %q is not an RFC 3339 time", s)}
		}
		if sinceSeconds > 0 {
			return logOptions{}, &optionError{http.StatusUnprocessableEntity, "at most one of sinceTime and sinceSeconds may be given"}
		}
	}
	switch s := q.Get("stream"); s {
	case "", "All":
	default:
		return logOptions{}, &optionError{http.StatusUnprocessableEntity,
			fmt.Sprintf("stream %q is not supported: the lab's container logs do not separate stdout and stderr; use All", s)}
	}
	return opts, nil
}

func queryBool(q url.Values, key string) bool {
	v, ok := q[key]
	return ok && len(v) > 0 && v[0] != "0" && !strings.EqualFold(v[0], "false")
}

// queryInt parses an integer parameter that must be >= minimum; an empty
// value gives unset.
func queryInt(s, name string, minimum, unset int64) (int64, error) {
	if s == "" {
		return unset, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, &optionError{http.StatusBadRequest, fmt.Sprintf("%s %q is not an integer", name, s)}
	}
	if n < minimum {
		return 0, &optionError{http.StatusUnprocessableEntity, fmt.Sprintf("%s must be at least %d, not %d", name, minimum, n)}
	}
	return n, nil
}

// handleContainerLogs serves /containerLogs/{namespace}/{pod}/{container}:
// the log file from the start (or its last tailLines lines), at most
// limitBytes of it, and with follow=true whatever is appended until the
// container is done, the limit is reached or the client goes away, flushed
// as it comes.
func (s *Server) handleContainerLogs(w http.ResponseWriter, r *http.Request) {
	ref := refFromPath(r)
	opts, err := parseLogOptions(r.URL.Query())
	if oe, ok := errors.AsType[*optionError](err); ok {
		writeText(w, oe.code, "containerLogs: "+oe.msg)
		return
	}
	src, err := s.rt.Logs(ref, opts.previous)
	if err != nil {
		if _, ok := errors.AsType[*NotFoundError](err); ok {
			writeText(w, http.StatusNotFound, err.Error())
			return
		}
		s.log.Warn("container logs lookup failed", "container", ref.String(), "error", err)
		writeText(w, http.StatusInternalServerError, fmt.Sprintf("logs of container %s: %v", ref, err))
		return
	}
	f, err := os.Open(src.Path)
	if err != nil {
		s.log.Warn("container log file", "container", ref.String(), "error", err)
		writeText(w, http.StatusInternalServerError, fmt.Sprintf("logs of container %s: %v", ref, err))
		return
	}
	defer func() { _ = f.Close() }()
	start, err := tailStart(f, opts.tailLines)
	if err != nil {
		writeText(w, http.StatusInternalServerError, fmt.Sprintf("logs of container %s: %v", ref, err))
		return
	}

	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	out := &logWriter{w: w, rc: http.NewResponseController(w), left: opts.limitBytes}
	var done <-chan struct{}
	if opts.follow && src.Done != nil {
		done = src.Done
		_ = out.rc.Flush() // the client sees the response start at once
	}
	if err := s.copyLog(r.Context(), out, f, start, done); err != nil {
		s.log.Info("container logs cut short", "container", ref.String(), "error", err)
	}
}

// copyLog writes f from offset to its end, flushing; then, if done is not
// nil, keeps writing what is appended, polling every followPoll, until done
// is closed (and the rest is written) or ctx ends. Reaching the byte limit
// ends it without error.
func (s *Server) copyLog(ctx context.Context, out *logWriter, f *os.File, offset int64, done <-chan struct{}) error {
	pos := offset
	copyNew := func() error {
		if fi, err := f.Stat(); err == nil && fi.Size() < pos {
			pos = 0 // truncated in place (copytruncate): start over
		}
		n, err := io.Copy(out, io.NewSectionReader(f, pos, math.MaxInt64-pos))
		pos += n
		if n > 0 {
			if ferr := out.rc.Flush(); ferr != nil && err == nil {
				err = fmt.Errorf("flush: %w", ferr)
			}
		}
		return err
	}
	err := copyNew()
	if done == nil || err != nil {
		return ignoreLimit(err)
	}
	tick := time.NewTicker(s.followPoll)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return ignoreLimit(copyNew())
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if err := copyNew(); err != nil {
				return ignoreLimit(err)
			}
		}
	}
}

// errLimitReached ends a copy at limitBytes.
var errLimitReached = errors.New("limitBytes reached")

func ignoreLimit(err error) error {
	if errors.Is(err, errLimitReached) {
		return nil
	}
	return err
}

// logWriter writes to the response, at most left bytes if left > 0.
type logWriter struct {
	w    io.Writer
	rc   *http.ResponseController
	left int64
}

func (lw *logWriter) Write(p []byte) (int, error) {
	if lw.left <= 0 {
		return lw.w.Write(p)
	}
	limited := false
	if int64(len(p)) >= lw.left {
		p, limited = p[:lw.left], true
	}
	n, err := lw.w.Write(p)
	lw.left -= int64(n)
	if err == nil && limited {
		err = errLimitReached
	}
	return n, err
}

// tailStart returns the offset at which the last n lines of f start; n < 0
// means the whole file.
func tailStart(f *os.File, n int64) (int64, error) {
	if n < 0 {
		return 0, nil
	}
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("tail: %w", err)
	}
	return tailOffset(f, fi.Size(), n, 64*1024)
}

// tailOffset returns the offset in r (of the given size) at which its last
// n lines start, reading backwards in blocks of blockSize. A newline ends a
// line; a last line without one still counts. n = 0 gives size.
func tailOffset(r io.ReaderAt, size, n int64, blockSize int) (int64, error) {
	if n <= 0 {
		return size, nil
	}
	buf := make([]byte, blockSize)
	seen := int64(0)
	for end := size; end > 0; {
		start := max(end-int64(blockSize), 0)
		b := buf[:end-start]
		if _, err := r.ReadAt(b, start); err != nil && !errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("tail: read at %d: %w", start, err)
		}
		for i := len(b) - 1; i >= 0; i-- {
			off := start + int64(i)
			if b[i] != '\n' || off == size-1 {
				continue // the file's final newline ends the last line
			}
			if seen++; seen == n {
				return off + 1, nil
			}
		}
		end = start
	}
	return 0, nil
}
