package scale

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"kube-netbench/fixtures"
)

// Creator defaults.
const (
	// DefaultWorkers is the number of concurrent creators. More do not
	// help: Service creates queue behind the ClusterIP allocator (lab-recipe
	// §6), and 32 were enough to keep it busy.
	DefaultWorkers = 32
	// DefaultMaxFailures is how many failed objects stop a Grow early: a
	// systematic refusal (RBAC, quota, a Terminating namespace) should not
	// be repeated 30,000 times.
	DefaultMaxFailures = 100
	// DefaultProgressEvery is the interval of progress reports.
	DefaultProgressEvery = 10 * time.Second
)

// removeHint is how an operator removes whatever any run left behind.
const removeHint = "kubectl delete ns -l " + fixtures.LabelManaged + "=" + fixtures.ManagedBy

// minUnlimitedQPS is the client-side rate limit below which Grow warns that
// the client, not the apiserver, may set the creation rate.
const minUnlimitedQPS = 1000

// Creator creates the dummy Services and EndpointSlices of a Plan. The zero
// value of every field but Client takes a default.
type Creator struct {
	// Client talks to the apiserver. Build it with a high QPS and Burst (or
	// QPS < 0 for no client-side limit): client-go's default of 5 QPS would
	// make the rate a measure of the client. Grow warns when it sees a low
	// limit.
	Client kubernetes.Interface
	// Workers is the number of concurrent workers (DefaultWorkers). Each
	// creates a Service and then its EndpointSlice.
	Workers int
	// ClusterIPs says who picks ClusterIPs: Auto (the zero value) or
	// Explicit(serviceCIDR). See the package documentation.
	ClusterIPs Allocation
	// MaxRetries is how often one request is repeated after a retryable
	// failure (DefaultMaxRetries; negative means never).
	MaxRetries int
	// Backoff is the first retry's wait (DefaultBackoff), doubled on each
	// further retry up to MaxBackoff, and never shorter than a Retry-After.
	Backoff time.Duration
	// MaxFailures stops a Grow once this many objects have failed
	// (DefaultMaxFailures; negative means never stop).
	MaxFailures int
	// Progress, if set, is called every ProgressEvery during a Grow; if nil,
	// progress goes to Log.
	Progress func(Progress)
	// ProgressEvery is the interval of progress reports (DefaultProgressEvery).
	ProgressEvery time.Duration
	// Log receives progress and notable events; nil discards them.
	Log func(format string, args ...any)
}

func (c Creator) withDefaults() Creator {
	if c.Workers <= 0 {
		c.Workers = DefaultWorkers
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = DefaultMaxRetries
	}
	c.MaxRetries = max(c.MaxRetries, 0)
	if c.Backoff <= 0 {
		c.Backoff = DefaultBackoff
	}
	if c.MaxFailures == 0 {
		c.MaxFailures = DefaultMaxFailures
	}
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = DefaultProgressEvery
	}
	if c.Log == nil {
		c.Log = func(string, ...any) {}
	}
	return c
}

// objKind tells latencies apart.
type objKind int

const (
	kindService objKind = iota
	kindSlice
)

// errExists marks an object found to exist already, like AlreadyExists.
var errExists = errors.New("already exists")

// grow is the state of one Grow call.
type grow struct {
	c Creator
	p Plan
	t *tally
}

// Grow creates dummy Services [from, to) of p and their EndpointSlices, and
// the namespaces they need. Objects that already exist count as done
// (Stats.Existing), so a Grow can be repeated or resumed. Every failure is
// counted and returned: the error says how many objects failed and joins the
// first few reasons (W-BUG-5). On cancellation Grow returns promptly with the
// stats so far and the context's error.
func (c Creator) Grow(ctx context.Context, p Plan, from, to int) (Stats, error) {
	start := time.Now()
	if err := p.checkRange(from, to); err != nil {
		return Stats{}, err
	}
	if err := c.ClusterIPs.check(p.MaxServices); err != nil {
		return Stats{}, err
	}
	if c.Client == nil {
		return Stats{}, errors.New("scale: Creator.Client is nil")
	}
	c = c.withDefaults()
	g := &grow{c: c, p: p, t: &tally{}}
	what := fmt.Sprintf("grow run %s, Services [%d, %d)", p.RunID, from, to)
	if w := rateLimitWarning(c.Client); w != "" {
		g.t.stats.Warnings = append(g.t.stats.Warnings, w)
		c.Log("%s: warning: %s", what, w)
	}
	c.Log("%s: %d workers, ClusterIPs %s", what, c.Workers, c.ClusterIPs)

	if err := g.namespaces(ctx, from, to); err != nil {
		return g.t.snapshot(time.Since(start)), fmt.Errorf("%s: %w", what, err)
	}

	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	var done atomic.Int64
	stopProgress := c.report(start, to-from, &done)
	jobs := make(chan int)
	go func() {
		defer close(jobs)
		for i := from; i < to; i++ {
			select {
			case jobs <- i:
			case <-runCtx.Done():
				return
			}
		}
	}()
	errTooMany := fmt.Errorf("stopped after %d failed objects (MaxFailures)", c.MaxFailures)
	var wg sync.WaitGroup
	for range min(c.Workers, max(to-from, 1)) {
		wg.Go(func() {
			for i := range jobs {
				if runCtx.Err() != nil {
					continue
				}
				failed, finished := g.one(runCtx, i)
				if finished {
					done.Add(1)
				}
				if c.MaxFailures > 0 && failed >= c.MaxFailures {
					stop(errTooMany)
				}
			}
		})
	}
	wg.Wait()
	stopProgress()

	s := g.t.snapshot(time.Since(start))
	c.Log("%s: %d Services and %d EndpointSlices created, %d existing, %d failed, %d retries, %d ClusterIP conflicts in %s (%.1f Services/s)",
		what, s.Services, s.Slices, s.Existing, s.Failed, s.Retries, s.IPConflicts, s.Wall.Round(time.Millisecond), s.ServicesPerSec)
	var errs []error
	if n, first := g.t.failed(); n > 0 {
		errs = append(errs, joinFirst(fmt.Sprintf("%s: %d objects failed (%d Services, %d EndpointSlices created)",
			what, n, s.Services, s.Slices), n, first))
	}
	notDone := to - from - int(done.Load())
	switch {
	case ctx.Err() != nil:
		errs = append(errs, fmt.Errorf("%s: %w with %d of %d Services not done", what, context.Cause(ctx), notDone, to-from))
	case errors.Is(context.Cause(runCtx), errTooMany):
		errs = append(errs, fmt.Errorf("%s: %w; %d Services not done", what, errTooMany, notDone))
	}
	return s, errors.Join(errs...)
}

// one creates Service i and then its EndpointSlice. It returns the number
// of failed objects so far and whether index i is finished (created,
// existing or failed). A failure caused by the end of ctx is not counted:
// the object was not refused, only not finished.
func (g *grow) one(ctx context.Context, i int) (failed int, finished bool) {
	existed, err := g.service(ctx, i)
	if err == nil {
		g.t.add(func(s *Stats) { count(s, &s.Services, existed) })
		existed, err = g.slice(ctx, i)
		if err == nil {
			g.t.add(func(s *Stats) { count(s, &s.Slices, existed) })
		}
	}
	switch {
	case err == nil:
		return g.t.failedCount(), true
	case ctx.Err() != nil:
		return g.t.failedCount(), false
	default:
		return g.t.fail(err), true
	}
}

// count adds an object to created, or to Existing if it existed before.
func count(s *Stats, created *int, existed bool) {
	if existed {
		s.Existing++
	} else {
		*created++
	}
}

// service creates Service i. With an explicit allocation, an address the
// apiserver reports as taken is either this Service's own (an earlier attempt
// went through but its answer was lost: success) or someone else's, and
// then the index's next candidate is tried.
func (g *grow) service(ctx context.Context, i int) (bool, error) {
	ns, name := g.p.Namespace(i), ServiceName(i)
	candidate := 0
	return g.attempt(ctx, "create Service "+ns+"/"+name, func(ctx context.Context) error {
		for {
			svc := g.p.Service(i)
			if g.c.ClusterIPs.IsExplicit() {
				ip, err := g.c.ClusterIPs.ClusterIP(i, candidate, g.p.MaxServices)
				if err != nil {
					return err
				}
				svc.Spec.ClusterIP = ip.String()
				svc.Spec.ClusterIPs = []string{ip.String()}
			}
			err := g.timed(kindService, func() error {
				_, err := g.c.Client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{})
				return err
			})
			if !ipTaken(err) {
				return err
			}
			g.t.add(func(s *Stats) { s.IPConflicts++ })
			if _, err := g.c.Client.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{}); err == nil {
				return errExists
			} else if !apierrors.IsNotFound(err) {
				return err
			}
			candidate++
		}
	})
}

// slice creates the EndpointSlice of Service i.
func (g *grow) slice(ctx context.Context, i int) (bool, error) {
	es, err := g.p.slice(i)
	if err != nil {
		return false, err
	}
	return g.attempt(ctx, "create EndpointSlice "+es.Namespace+"/"+es.Name, func(ctx context.Context) error {
		return g.timed(kindSlice, func() error {
			_, err := g.c.Client.DiscoveryV1().EndpointSlices(es.Namespace).Create(ctx, es, metav1.CreateOptions{})
			return err
		})
	})
}

// timed runs one request and records its latency.
func (g *grow) timed(kind objKind, req func() error) error {
	start := time.Now()
	err := req()
	g.t.latency(kind, time.Since(start))
	return err
}

// attempt runs call until it succeeds, fails for good or ctx ends, retrying
// with backoff what may succeed later. An AlreadyExists answer is success:
// on a retry it means an earlier attempt went through; on the first attempt
// the object existed before (existed is then true).
func (g *grow) attempt(ctx context.Context, what string, call func(context.Context) error) (existed bool, err error) {
	n, err := retry(ctx, g.c.MaxRetries, g.c.Backoff, func() { g.t.add(func(s *Stats) { s.Retries++ }) }, call)
	switch {
	case err == nil:
		return false, nil
	case apierrors.IsAlreadyExists(err) || errors.Is(err, errExists):
		return n == 1, nil
	case n > 1 && retryable(err):
		return false, fmt.Errorf("%s: gave up after %d attempts: %w", what, n, err)
	default:
		return false, fmt.Errorf("%s: %w", what, err)
	}
}

// namespaces creates the run's namespaces for indexes [from, to), labelled
// with the run. One that exists already must belong to the run and must not
// be Terminating: creating into a Terminating namespace fails, and the seed
// did it silently (W-OPS-1).
func (g *grow) namespaces(ctx context.Context, from, to int) error {
	for _, name := range g.p.namespaces(from, to) {
		existed, err := g.attempt(ctx, "create namespace "+name, func(ctx context.Context) error {
			_, err := g.c.Client.CoreV1().Namespaces().Create(ctx, fixtures.Namespace(name, g.p.RunID, fixtures.PodSecurityRestricted), metav1.CreateOptions{})
			return err
		})
		if err != nil {
			return err
		}
		if !existed {
			g.t.add(func(s *Stats) { s.Namespaces++ })
			continue
		}
		ns, err := g.c.Client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("namespace %s exists but cannot be read: %w", name, err)
		}
		if ns.DeletionTimestamp != nil || ns.Status.Phase == corev1.NamespaceTerminating {
			return fmt.Errorf("namespace %s is Terminating: wait until it is gone (%s)", name, removeHint)
		}
		if got := ns.Labels[fixtures.LabelRun]; got != g.p.RunID {
			return fmt.Errorf("namespace %s exists with %s=%q, not this run's %q", name, fixtures.LabelRun, got, g.p.RunID)
		}
	}
	return nil
}

// report starts progress reports every ProgressEvery and returns the
// function that stops them.
func (c Creator) report(start time.Time, total int, done *atomic.Int64) (stop func()) {
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(c.ProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				el := time.Since(start)
				p := Progress{Done: int(done.Load()), Total: total, Elapsed: el, PerSec: rate(int(done.Load()), el)}
				if c.Progress != nil {
					c.Progress(p)
				} else {
					c.Log("progress: %s", p)
				}
			}
		}
	})
	return func() { close(quit); wg.Wait() }
}

// rateLimitWarning returns a warning if the client limits its own request
// rate below minUnlimitedQPS: each dummy Service costs two requests, so the
// creation rate could then be the client's, not the apiserver's.
func rateLimitWarning(c kubernetes.Interface) string {
	rc := c.CoreV1().RESTClient()
	if rc == nil {
		return ""
	}
	rl := rc.GetRateLimiter()
	if rl == nil || rl.QPS() <= 0 || rl.QPS() >= minUnlimitedQPS {
		return ""
	}
	return fmt.Sprintf("the client allows %.0f requests/s, so at most %.0f Services/s (two requests each): "+
		"build it with a higher rest.Config QPS and Burst (or QPS -1), or the creation rate measures the client", rl.QPS(), rl.QPS()/2)
}
