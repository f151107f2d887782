package guard

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// WatchEvery is how often a round's watch reads the nodes' leases: two
// small GETs per poll, nothing the dataplane under test carries.
const WatchEvery = 2 * time.Second

// pollTimeout bounds one poll: an apiserver that does not answer within it
// is counted unanswered from its last answer on.
const pollTimeout = 5 * time.Second

// Silence is how long the apiserver may go unanswered before a round is
// broken: a loaded apiserver answers a GET within seconds.
const Silence = 10 * time.Second

// leaseNamespace holds the kubelets' node leases.
const leaseNamespace = "kube-node-lease"

// Watch is a round's watch of the control path: started before the
// measurement, stopped after it.
type Watch struct {
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	obs  *observer
}

// Watch starts watching the control path until Stop.
func (g *Guard) Watch(ctx context.Context) *Watch {
	w := &Watch{stop: make(chan struct{}), done: make(chan struct{}), obs: newObserver(time.Now())}
	go func() {
		defer close(w.done)
		t := time.NewTicker(WatchEvery)
		defer t.Stop()
		for {
			answered, leases, note := g.readLeases(ctx)
			w.mu.Lock()
			w.obs.observe(time.Now(), answered, leases, note)
			w.mu.Unlock()
			select {
			case <-w.stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return w
}

// Stop ends the watch and returns what broke the round ("" if nothing):
// the apiserver silent for Silence or longer, a kubelet that did not renew
// its lease for half its duration.
func (w *Watch) Stop() []string {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.obs.problems(time.Now())
}

// readLeases reads each node's lease; answered is false when the apiserver
// gave no answer at all (an API error, Forbidden included, is an answer).
func (g *Guard) readLeases(ctx context.Context) (answered bool, leases map[string]lease, note string) {
	leases = map[string]lease{}
	for _, n := range g.nodes {
		pctx, cancel := context.WithTimeout(ctx, pollTimeout)
		l, err := g.client.CoordinationV1().Leases(leaseNamespace).Get(pctx, n, metav1.GetOptions{})
		cancel()
		var status apierrors.APIStatus
		switch {
		case err == nil:
			leases[n] = leaseOf(l)
		case errors.As(err, &status):
			note = fmt.Sprintf("kubelets not watched (node lease %s/%s: %v)", leaseNamespace, n, err)
		default:
			return false, nil, ""
		}
	}
	return true, leases, note
}

// lease is a node lease's renewal and its duration.
type lease struct {
	renewed  time.Time
	duration time.Duration
}

func leaseOf(l *coordinationv1.Lease) lease {
	var out lease
	if l.Spec.RenewTime != nil {
		out.renewed = l.Spec.RenewTime.Time
	}
	if l.Spec.LeaseDurationSeconds != nil {
		out.duration = time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second
	}
	return out
}

// observer turns polls into problems. A kubelet's staleness is timed on the
// harness's own clock from when its lease last changed (no comparison across
// machines' clocks), and restarts when the apiserver comes back: a kubelet
// cannot renew through a silent apiserver.
type observer struct {
	lastAnswer time.Time
	silent     bool
	// silence is the longest span without an answer.
	silence time.Duration
	nodes   map[string]*nodeSeen
	notes   map[string]bool
}

type nodeSeen struct {
	renewed time.Time
	since   time.Time
	// worst is the longest span the lease stayed unchanged, and its limit.
	worst, limit time.Duration
}

func newObserver(now time.Time) *observer {
	return &observer{lastAnswer: now, nodes: map[string]*nodeSeen{}, notes: map[string]bool{}}
}

func (o *observer) observe(now time.Time, answered bool, leases map[string]lease, note string) {
	if !answered {
		o.silent = true
		o.silence = max(o.silence, now.Sub(o.lastAnswer))
		return
	}
	if o.silent {
		o.silence = max(o.silence, now.Sub(o.lastAnswer))
		o.silent = false
		for _, n := range o.nodes {
			n.since = now
		}
	}
	o.lastAnswer = now
	if note != "" {
		o.notes[note] = true
	}
	for name, l := range leases {
		n, ok := o.nodes[name]
		if !ok || !l.renewed.Equal(n.renewed) {
			if !ok {
				n = &nodeSeen{}
				o.nodes[name] = n
			}
			n.renewed, n.since = l.renewed, now
		}
		// A kubelet renews every quarter of its lease's duration; half of
		// it unchanged is two renewals missed.
		n.limit = l.duration / 2
		if n.limit <= 0 {
			n.limit = 20 * time.Second
		}
		n.worst = max(n.worst, now.Sub(n.since))
	}
}

func (o *observer) problems(now time.Time) []string {
	var out []string
	silence := o.silence
	if o.silent {
		silence = max(silence, now.Sub(o.lastAnswer))
	}
	if silence >= Silence {
		out = append(out, fmt.Sprintf("the apiserver did not answer for %s during the round", silence.Round(time.Second)))
	}
	for _, name := range slices.Sorted(maps.Keys(o.nodes)) {
		if n := o.nodes[name]; n.worst > n.limit {
			out = append(out, fmt.Sprintf("kubelet on %s did not renew its node lease for %s during the round (it renews every %s)",
				name, n.worst.Round(time.Second), (n.limit/2).Round(time.Second)))
		}
	}
	return out
}

// Notes are what the watch could not watch (a lease it may not read).
func (w *Watch) Notes() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Sorted(maps.Keys(w.obs.notes))
}
