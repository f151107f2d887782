package scale

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var svcGR = schema.GroupResource{Resource: "services"}

// errIPTaken is the apiserver's answer to an explicit ClusterIP that is
// allocated already (pkg/registry/core/service/storage/alloc.go).
func errIPTaken(name, ip string) error {
	return apierrors.NewInvalid(schema.GroupKind{Kind: "Service"}, name, field.ErrorList{field.Invalid(
		field.NewPath("spec", "clusterIPs"), []string{ip}, fmt.Sprintf("failed to allocate IP %s: provided IP is already allocated", ip))})
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestRetryable(t *testing.T) {
	yes := map[string]error{
		"429":              apierrors.NewTooManyRequests("slow down", 1),
		"500":              apierrors.NewInternalError(errors.New("boom")),
		"503":              apierrors.NewServiceUnavailable("later"),
		"504":              apierrors.NewTimeoutError("took too long", 1),
		"server timeout":   apierrors.NewServerTimeout(svcGR, "create", 1),
		"502":              apierrors.NewGenericServerResponse(502, "POST", svcGR, "x", "bad gateway", 0, true),
		"net timeout":      fmt.Errorf("post: %w", timeoutErr{}),
		"request deadline": fmt.Errorf("post: %w", context.DeadlineExceeded),
		"eof":              fmt.Errorf("post: %w", io.ErrUnexpectedEOF),
		"reset":            fmt.Errorf("read: %w", syscall.ECONNRESET),
		"refused":          fmt.Errorf("dial: %w", syscall.ECONNREFUSED),
	}
	for name, err := range yes {
		require.True(t, retryable(err), name)
	}
	no := map[string]error{
		"nil":           nil,
		"403":           apierrors.NewForbidden(svcGR, "x", errors.New("no")),
		"409":           apierrors.NewAlreadyExists(svcGR, "x"),
		"404":           apierrors.NewNotFound(svcGR, "x"),
		"422 ip taken":  errIPTaken("x", "10.96.0.5"),
		"range is full": apierrors.NewInternalError(errors.New(`failed to allocate a serviceIP for Service "x": range is full`)),
		"plain":         errors.New("something else"),
	}
	for name, err := range no {
		require.False(t, retryable(err), name)
	}
}

func TestIPTaken(t *testing.T) {
	require.True(t, ipTaken(errIPTaken("dummy-3", "10.96.0.5")))
	require.False(t, ipTaken(apierrors.NewInvalid(schema.GroupKind{Kind: "Service"}, "x",
		field.ErrorList{field.Invalid(field.NewPath("spec", "ports"), 0, "bad port")})))
	require.False(t, ipTaken(apierrors.NewInternalError(errors.New("already allocated"))), "only a 422 is the allocator's refusal")
}

func TestBackoff(t *testing.T) {
	base := 100 * time.Millisecond
	for n := range 12 {
		want := base << n
		if n > 6 || want > MaxBackoff {
			want = MaxBackoff
		}
		for range 20 {
			d := backoff(base, n, errors.New("x"))
			require.GreaterOrEqual(t, d, want/2, "retry %d", n)
			require.Less(t, d, want, "retry %d", n)
		}
	}
	d := backoff(base, 0, apierrors.NewTooManyRequests("slow down", 3))
	require.Equal(t, 3*time.Second, d, "Retry-After wins over a shorter backoff")
	d = backoff(time.Second, 5, apierrors.NewTooManyRequests("slow down", 30))
	require.Equal(t, 30*time.Second, d, "and over MaxBackoff: the server knows best")
}

func TestRetry(t *testing.T) {
	calls := 0
	n, err := retry(context.Background(), 3, time.Millisecond, func() {}, func(context.Context) error {
		calls++
		if calls < 3 {
			return apierrors.NewServiceUnavailable("later")
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, 3, n)

	n, err = retry(context.Background(), 2, time.Millisecond, func() {}, func(context.Context) error {
		return apierrors.NewServiceUnavailable("later")
	})
	require.True(t, apierrors.IsServiceUnavailable(err))
	require.Equal(t, 3, n, "one call and two retries")

	n, err = retry(context.Background(), 5, time.Millisecond, func() {}, func(context.Context) error {
		return apierrors.NewForbidden(svcGR, "x", errors.New("no"))
	})
	require.True(t, apierrors.IsForbidden(err))
	require.Equal(t, 1, n, "a permanent error is not retried")

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = retry(ctx, 5, time.Millisecond, func() {}, func(context.Context) error {
		return apierrors.NewTooManyRequests("slow down", 60)
	})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 2*time.Second, "a Retry-After wait ends with the context")
}

func TestSummarize(t *testing.T) {
	require.Equal(t, Latency{}, summarize(nil))
	var s []time.Duration
	for i := 100; i >= 1; i-- {
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	require.Equal(t, Latency{N: 100, P50: 50 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}, summarize(s))
	require.Equal(t, Latency{N: 1, P50: time.Second, P99: time.Second, Max: time.Second}, summarize([]time.Duration{time.Second}))
	l := summarize([]time.Duration{1, 2, 3})
	require.Equal(t, time.Duration(2), l.P50)
	require.Equal(t, time.Duration(3), l.P99)
}

func TestJoinFirst(t *testing.T) {
	require.NoError(t, joinFirst("x", 0, nil))
	err := joinFirst("grow: 7 objects failed", 7, []error{errors.New("a"), apierrors.NewForbidden(svcGR, "x", errors.New("no"))})
	require.EqualError(t, err, "grow: 7 objects failed; the first 2:\na\n"+`services "x" is forbidden: no`)
	require.True(t, apierrors.IsForbidden(err), "the reasons stay inspectable")
}
