package scale

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Stats is what one Grow, SeedMethod or Delete did and how fast. Every
// count is of objects, not requests; requests are counted by the Latency
// fields and Retries.
type Stats struct {
	// Services and Slices are the objects this call created; for
	// SeedMethod, Slices counts the core/v1 Endpoints it created instead.
	Services, Slices int
	// Namespaces are the namespaces created (Grow, SeedMethod) or deleted
	// (Delete).
	Namespaces int
	// Existing counts objects that already existed before this call (an
	// AlreadyExists answer to a first attempt, or "unchanged" from kubectl):
	// done, but not created now, so not in the rate.
	Existing int
	// Failed counts objects that could not be created; Grow's error holds
	// the first few reasons.
	Failed int
	// Retries counts requests repeated after 429, 5xx, a timeout or a lost
	// connection.
	Retries int
	// IPConflicts counts explicit ClusterIPs the apiserver refused as
	// already allocated (each was followed by the index's next candidate).
	IPConflicts int
	// Wall is the elapsed time of the whole call: namespaces, Services and
	// their endpoint objects.
	Wall time.Duration
	// ServicesPerSec is Services / Wall: the run's creation_rate_svc_per_s.
	ServicesPerSec float64
	// ServiceLatency and SliceLatency are per-request latencies of Service
	// and EndpointSlice creates (Grow); BatchLatency is the time of each
	// `kubectl apply -f` of a batch file (SeedMethod).
	ServiceLatency, SliceLatency, BatchLatency Latency
	// Remaining are the run's namespaces still present when Delete gave up.
	Remaining []string
	// Warnings are conditions that weaken the result, such as a client-side
	// rate limit, or kubectl's deprecation warnings with their count.
	Warnings []string
}

// Latency summarises request latencies: the median, the 99th percentile
// and the maximum, by nearest rank (no interpolation, no averaging).
type Latency struct {
	N             int
	P50, P99, Max time.Duration
}

// summarize returns the Latency of samples (which it sorts).
func summarize(samples []time.Duration) Latency {
	if len(samples) == 0 {
		return Latency{}
	}
	slices.Sort(samples)
	rank := func(pct int) time.Duration {
		// Nearest rank: the smallest sample with at least pct % of all
		// samples at or below it, in integers (no float rounding).
		k := (pct*len(samples)+99)/100 - 1
		return samples[min(max(k, 0), len(samples)-1)]
	}
	return Latency{N: len(samples), P50: rank(50), P99: rank(99), Max: samples[len(samples)-1]}
}

// rate is n per second of wall, 0 for an empty wall.
func rate(n int, wall time.Duration) float64 {
	if wall <= 0 {
		return 0
	}
	return float64(n) / wall.Seconds()
}

// Progress is one progress report of a long creation.
type Progress struct {
	// Done counts Services finished (created, existing or failed) of Total.
	Done, Total int
	// Elapsed is the time since the call started.
	Elapsed time.Duration
	// PerSec is Done / Elapsed.
	PerSec float64
}

// String is the one-line form used for logs.
func (p Progress) String() string {
	return fmt.Sprintf("%d/%d Services after %s (%.1f/s)", p.Done, p.Total, p.Elapsed.Round(time.Millisecond), p.PerSec)
}

// maxReported is how many individual errors an aggregate error keeps.
const maxReported = 5

// tally collects a concurrent run's counts, latencies and errors.
type tally struct {
	mu       sync.Mutex
	stats    Stats
	svcLat   []time.Duration
	sliceLat []time.Duration
	first    []error // the first maxReported errors, in order of arrival
}

func (t *tally) add(f func(s *Stats)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f(&t.stats)
}

func (t *tally) latency(kind objKind, d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if kind == kindService {
		t.svcLat = append(t.svcLat, d)
	} else {
		t.sliceLat = append(t.sliceLat, d)
	}
}

// fail records an object that could not be created and its reason; it
// returns the number of failed objects so far.
func (t *tally) fail(err error) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stats.Failed++
	if len(t.first) < maxReported {
		t.first = append(t.first, err)
	}
	return t.stats.Failed
}

// failedCount is the number of failed objects.
func (t *tally) failedCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stats.Failed
}

// failed returns the number of failed objects and the first few reasons.
func (t *tally) failed() (int, []error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stats.Failed, slices.Clone(t.first)
}

// joinFirst is the aggregate error of n failures whose first few are first:
// head, a note if some reasons were left out, and the reasons (W-BUG-5: a
// failure is never dropped, only its repetitions are not spelled out).
func joinFirst(head string, n int, first []error) error {
	if n == 0 {
		return nil
	}
	if n > len(first) {
		head += fmt.Sprintf("; the first %d:", len(first))
	}
	return errors.Join(append([]error{errors.New(head)}, first...)...)
}

// snapshot returns the stats with latencies summarised and the rate over
// wall.
func (t *tally) snapshot(wall time.Duration) Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.stats
	s.Wall = wall
	s.ServicesPerSec = rate(s.Services, wall)
	s.ServiceLatency = summarize(slices.Clone(t.svcLat))
	s.SliceLatency = summarize(slices.Clone(t.sliceLat))
	s.Warnings = slices.Clone(t.stats.Warnings)
	return s
}
