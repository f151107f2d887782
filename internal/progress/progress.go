// Package progress prints one line per phase of a long run with the time
// elapsed since the run started and the phase's own length, so that a user
// watching `go test -v` (or gotestsum) sees where a 40-minute run is:
//
//	[+3m12.4s] 5000 Services: programming ...
//	[+3m15s] 5000 Services: programming done in 2.6s
package progress

import (
	"fmt"
	"time"
)

// Logger is where lines go: a *testing.T, typically. When it also has
// Helper (as *testing.T does), the lines are attributed to the caller of
// Phase or Note, not to this package.
type Logger interface {
	Logf(format string, args ...any)
}

type helper interface{ Helper() }

// Tracker prints phase lines through its Logger.
type Tracker struct {
	start time.Time
	log   Logger
	now   func() time.Time
}

type discard struct{}

func (discard) Logf(string, ...any) {}

// New starts a tracker at the current time; a nil Logger discards.
func New(l Logger) *Tracker {
	return newAt(l, time.Now)
}

func newAt(l Logger, now func() time.Time) *Tracker {
	if l == nil {
		l = discard{}
	}
	return &Tracker{start: now(), log: l, now: now}
}

// To returns a tracker with the same start that prints through l: each
// test step logs through its own *testing.T.
func (p *Tracker) To(l Logger) *Tracker {
	q := newAt(l, p.now)
	q.start = p.start
	return q
}

// Elapsed is the time since the tracker started.
func (p *Tracker) Elapsed() time.Duration { return p.now().Sub(p.start) }

// Phase prints the start of a phase and returns the function that prints its
// end with its length (call it with defer, or when the phase ends).
func (p *Tracker) Phase(format string, args ...any) (done func()) {
	if h, ok := p.log.(helper); ok {
		h.Helper()
	}
	name := fmt.Sprintf(format, args...)
	began := p.now()
	p.log.Logf("[+%s] %s ...", round(began.Sub(p.start)), name)
	return func() {
		if h, ok := p.log.(helper); ok {
			h.Helper()
		}
		end := p.now()
		p.log.Logf("[+%s] %s done in %s", round(end.Sub(p.start)), name, round(end.Sub(began)))
	}
}

// Note prints one line stamped with the elapsed time.
func (p *Tracker) Note(format string, args ...any) {
	if h, ok := p.log.(helper); ok {
		h.Helper()
	}
	p.log.Logf("[+%s] %s", round(p.Elapsed()), fmt.Sprintf(format, args...))
}

func round(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}
