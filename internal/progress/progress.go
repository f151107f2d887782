// Package progress prints one line per phase of a long run with the time
// elapsed since the run started and the phase's own length, so that a user
// watching `go test -v` (or gotestsum) sees where a 40-minute run is:
//
//	[+3m12.4s] 5000 Services: programming ...
//	[+3m15.0s] 5000 Services: programming done in 2.6s
package progress

import (
	"fmt"
	"time"
)

// Tracker prints phase lines through its Log function (t.Logf in tests).
type Tracker struct {
	start time.Time
	log   func(format string, args ...any)
	now   func() time.Time
}

// New starts a tracker at the current time; log nil discards.
func New(log func(format string, args ...any)) *Tracker {
	return newAt(log, time.Now)
}

func newAt(log func(string, ...any), now func() time.Time) *Tracker {
	if log == nil {
		log = func(string, ...any) {}
	}
	return &Tracker{start: now(), log: log, now: now}
}

// To returns a tracker with the same start that prints through log: each
// test step logs through its own t.Logf.
func (p *Tracker) To(log func(format string, args ...any)) *Tracker {
	q := newAt(log, p.now)
	q.start = p.start
	return q
}

// Elapsed is the time since the tracker started.
func (p *Tracker) Elapsed() time.Duration { return p.now().Sub(p.start) }

// Phase prints the start of a phase and returns the function that prints its
// end with its length (call it with defer, or when the phase ends).
func (p *Tracker) Phase(format string, args ...any) (done func()) {
	name := fmt.Sprintf(format, args...)
	began := p.now()
	p.log("[+%s] %s ...", round(began.Sub(p.start)), name)
	return func() {
		end := p.now()
		p.log("[+%s] %s done in %s", round(end.Sub(p.start)), name, round(end.Sub(began)))
	}
}

// Note prints one line stamped with the elapsed time.
func (p *Tracker) Note(format string, args ...any) {
	p.log("[+%s] %s", round(p.Elapsed()), fmt.Sprintf(format, args...))
}

func round(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}
