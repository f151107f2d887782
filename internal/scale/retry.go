package scale

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilnet "k8s.io/apimachinery/pkg/util/net"
)

// Retry defaults of a Creator.
const (
	DefaultMaxRetries = 8
	DefaultBackoff    = 100 * time.Millisecond
	// MaxBackoff caps the exponential backoff (not a Retry-After the server
	// asks for, which is always honoured).
	MaxBackoff = 10 * time.Second
)

// retryable reports whether a failed request may succeed if repeated: the
// apiserver asked to slow down (429), failed or timed out on its side (5xx,
// except a full Service range, which no retry fixes), or the connection was
// lost or timed out.
func retryable(err error) bool {
	if err == nil || rangeFull(err) {
		return false
	}
	switch {
	case apierrors.IsTooManyRequests(err), apierrors.IsServerTimeout(err), apierrors.IsTimeout(err),
		apierrors.IsServiceUnavailable(err), apierrors.IsInternalError(err), apierrors.IsUnexpectedServerError(err):
		return true
	}
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		return st.Status().Code >= 500
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	// A per-request timeout of the REST client (the caller's context is
	// checked before this is asked).
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	return utilnet.IsConnectionReset(err) || utilnet.IsConnectionRefused(err) || utilnet.IsProbableEOF(err)
}

// rangeFull reports the apiserver's "range is full": the Service range has
// no free ClusterIP (an internal error, so it must not be retried).
func rangeFull(err error) bool {
	return strings.Contains(err.Error(), "range is full")
}

// ipTaken reports the apiserver's refusal of an explicit ClusterIP that is
// already allocated (422 on spec.clusterIPs).
func ipTaken(err error) bool {
	return apierrors.IsInvalid(err) && strings.Contains(err.Error(), "already allocated")
}

// retryAfter is the delay the server asked for (Retry-After, or the
// retryAfterSeconds of a Status), 0 if none.
func retryAfter(err error) time.Duration {
	if s, ok := apierrors.SuggestsClientDelay(err); ok && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 0
}

// backoff is the wait before retry number n (0-based): base doubled n times,
// capped at MaxBackoff, with full jitter in its upper half so that 32
// workers hit by the same 429 do not return in lockstep; never shorter than
// what the server asked for.
func backoff(base time.Duration, n int, err error) time.Duration {
	d := base
	for range n {
		if d >= MaxBackoff/2 {
			d = MaxBackoff
			break
		}
		d *= 2
	}
	d = min(d, MaxBackoff)
	if d > 1 {
		d = d/2 + rand.N(d/2)
	}
	return max(d, retryAfter(err))
}

// retry runs call until it succeeds, fails with an error that is not
// retryable, has been retried maxRetries times, or ctx ends (then the
// error is the context's). It calls onRetry before each retry and returns
// the number of calls made and the last error.
func retry(ctx context.Context, maxRetries int, base time.Duration, onRetry func(), call func(context.Context) error) (int, error) {
	for n := 0; ; n++ {
		err := call(ctx)
		switch {
		case err == nil:
			return n + 1, nil
		case ctx.Err() != nil:
			return n + 1, context.Cause(ctx)
		case !retryable(err) || n >= maxRetries:
			return n + 1, err
		}
		onRetry()
		if serr := sleep(ctx, backoff(base, n, err)); serr != nil {
			return n + 1, serr
		}
	}
}

// sleep waits d or until ctx ends, whichever is first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}
