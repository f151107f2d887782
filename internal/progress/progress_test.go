package progress

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPhaseLines(t *testing.T) {
	clock := time.Unix(1000, 0)
	now := func() time.Time { return clock }
	var lines recorder
	p := newAt(&lines, now)
	clock = clock.Add(3*time.Minute + 12*time.Second + 420*time.Millisecond)
	done := p.Phase("%d Services: programming", 5000)
	clock = clock.Add(2600 * time.Millisecond)
	done()
	clock = clock.Add(250 * time.Millisecond)
	p.Note("round %d of %d", 1, 6)
	require.Equal(t, recorder{
		"[+3m12.4s] 5000 Services: programming ...",
		"[+3m15s] 5000 Services: programming done in 2.6s",
		"[+3m15.3s] round 1 of 6",
	}, lines)
	var other recorder
	p.To(&other).Note("next step")
	require.Equal(t, recorder{"[+3m15.3s] next step"}, other, "same start, another log")
	require.Equal(t, 3*time.Minute+15270*time.Millisecond, p.Elapsed())
}

type recorder []string

func (r *recorder) Logf(f string, a ...any) { *r = append(*r, fmt.Sprintf(f, a...)) }

func TestNilLogDiscards(t *testing.T) {
	p := New(nil)
	p.Phase("x")()
	p.Note("y")
}

// A *testing.T is a Logger; lines are attributed to the caller.
func TestTestingT(t *testing.T) {
	New(t).Phase("phase")()
}
