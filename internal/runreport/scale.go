package runreport

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"kube-netbench/internal/stats"
)

// The ServiceScale dimension's name and the svc value of its closing
// baseline.
const (
	scaleDimension = "servicescale"
	closingSuffix  = "-closing"
)

// Point is one step of a curve.
type Point struct {
	Services int
	Samples  []float64
	Summary  stats.Summary
	// Change is the change against the run's own svc=0 baseline (nil at
	// the baseline itself).
	Change *stats.Comparison
}

// Curve is one run's req/s against the number of dummy Services for one
// kind of connection.
type Curve struct {
	Column int
	Conn   string
	// Points are the measured steps in Service order, the baseline first.
	Points []Point
	// Closing is the baseline measured again after the dummy Services were
	// deleted; nil when the run has none.
	Closing *Point
}

// Bounded reports whether every point has a 95 % interval.
func (c Curve) Bounded() bool {
	return !slices.ContainsFunc(c.Points, func(p Point) bool { return !p.Summary.Bounded() })
}

// minN is the smallest sample count of the curve's points.
func (c Curve) minN() int {
	n := math.MaxInt
	for _, p := range c.Points {
		n = min(n, p.Summary.N)
	}
	return n
}

// curves reads every column's ServiceScale results of the connection kind.
func curves(cols []Column, conn string) ([]Curve, error) {
	var out []Curve
	for i, c := range cols {
		_, run, ok := c.dimension(scaleDimension)
		if !ok || run == nil {
			continue
		}
		cv := Curve{Column: i, Conn: conn}
		for _, r := range run.Results {
			if r.Name != "ServiceScale" || key(r, "conn") != conn {
				continue
			}
			m, ok := metric(r, "req/s")
			if !ok {
				continue
			}
			svc := key(r, "svc")
			closing := strings.HasSuffix(svc, closingSuffix)
			n, err := strconv.Atoi(strings.TrimSuffix(svc, closingSuffix))
			if err != nil || n < 0 {
				return nil, fmt.Errorf("%s: %s: svc=%q is not a Service count (want N or N-closing)", c.Run.Dir, r.BenchmarkName(), svc)
			}
			p := Point{Services: n, Samples: m.Samples, Summary: m.Summary}
			if closing {
				cv.Closing = &p
			} else {
				cv.Points = append(cv.Points, p)
			}
		}
		if len(cv.Points) == 0 {
			continue
		}
		slices.SortFunc(cv.Points, func(a, b Point) int { return a.Services - b.Services })
		if cv.Points[0].Services != 0 {
			return nil, fmt.Errorf("%s: ServiceScale conn=%s has no svc=0 baseline: its steps cannot be compared with anything", c.Run.Dir, conn)
		}
		base := cv.Points[0].Samples
		for j := range cv.Points[1:] {
			if err := setChange(&cv.Points[j+1], base); err != nil {
				return nil, fmt.Errorf("%s: ServiceScale conn=%s svc=%d: %w", c.Run.Dir, conn, cv.Points[j+1].Services, err)
			}
		}
		if cv.Closing != nil {
			if err := setChange(cv.Closing, base); err != nil {
				return nil, fmt.Errorf("%s: ServiceScale conn=%s closing baseline: %w", c.Run.Dir, conn, err)
			}
		}
		out = append(out, cv)
	}
	return out, nil
}

func setChange(p *Point, base []float64) error {
	c, err := stats.Change(base, p.Samples, stats.DefaultConfidence)
	if err != nil {
		return err
	}
	p.Change = &c
	return nil
}

// Crossover is where two runs' curves cross, if they do.
type Crossover struct {
	A, B string
	// Steps are the Service counts both curves measured.
	Steps []int
	// Found: the medians cross at At Services (linear interpolation between
	// measured steps). Before it, Above's curve is the higher one.
	Found        bool
	At           float64
	Above, Below string
	// Bounded: both curves have 95 % bands. With a crossover, Lo and Hi
	// bound where the bands cross; LoOpen means the bands already overlap
	// at the first common step, HiOpen that they are not yet apart at the
	// last one.
	Bounded        bool
	Lo, Hi         float64
	LoOpen, HiOpen bool
	// Crossings counts the sign changes of the medians' difference; more
	// than one means the curves are within each other's noise.
	Crossings int
	// Without a crossover (and with intervals): Apart says whether the 95 %
	// bands part for good, from ApartFrom Services on; where they still
	// overlap, "above" is not told from noise.
	Apart     bool
	ApartFrom int
	// Note says why no crossover could be computed, "" otherwise.
	Note string
}

// crossovers compares every two curves' medians on their common steps.
func crossovers(cols []Column, cs []Curve) []Crossover {
	var out []Crossover
	for i := range cs {
		for j := i + 1; j < len(cs); j++ {
			out = append(out, crossover(cols[cs[i].Column].Label, cols[cs[j].Column].Label, cs[i], cs[j]))
		}
	}
	return out
}

func crossover(la, lb string, a, b Curve) Crossover {
	x := Crossover{A: la, B: lb}
	pb := map[int]Point{}
	for _, p := range b.Points {
		pb[p.Services] = p
	}
	var xs, d, aLo, aHi, bLo, bHi []float64
	for _, p := range a.Points {
		q, ok := pb[p.Services]
		if !ok {
			continue
		}
		x.Steps = append(x.Steps, p.Services)
		xs = append(xs, float64(p.Services))
		d = append(d, p.Summary.Center-q.Summary.Center)
		aLo, aHi = append(aLo, p.Summary.Lo), append(aHi, p.Summary.Hi)
		bLo, bHi = append(bLo, q.Summary.Lo), append(bHi, q.Summary.Hi)
	}
	if len(xs) < 2 {
		x.Note = fmt.Sprintf("fewer than two common steps (%v): no curve to compare", x.Steps)
		return x
	}
	// Orient so that "up" is the curve that starts higher.
	upLo, upHi, dnLo, dnHi := aLo, aHi, bLo, bHi
	x.Above, x.Below = la, lb
	if first := firstNonZero(d); first < 0 {
		upLo, upHi, dnLo, dnHi = bLo, bHi, aLo, aHi
		x.Above, x.Below = lb, la
		for i := range d {
			d[i] = -d[i]
		}
	}
	for i := 0; i+1 < len(d); i++ {
		if d[i] > 0 && d[i+1] <= 0 || d[i] < 0 && d[i+1] >= 0 {
			x.Crossings++
		}
	}
	x.At, x.Found = crossing(xs, d)
	if !a.Bounded() || !b.Bounded() {
		return x
	}
	x.Bounded = true
	if !x.Found {
		for i := len(xs) - 1; i >= 0 && upLo[i] > dnHi[i]; i-- {
			x.Apart, x.ApartFrom = true, x.Steps[i]
		}
		return x
	}
	// Earliest: the upper curve's low edge meets the lower one's high edge;
	// latest: its high edge meets the other's low edge.
	early, late := make([]float64, len(xs)), make([]float64, len(xs))
	for i := range xs {
		early[i], late[i] = upLo[i]-dnHi[i], upHi[i]-dnLo[i]
	}
	if early[0] <= 0 {
		x.Lo, x.LoOpen = xs[0], true
	} else {
		x.Lo, _ = crossing(xs, early)
	}
	var ok bool
	if x.Hi, ok = crossing(xs, late); !ok {
		x.Hi, x.HiOpen = xs[len(xs)-1], true
	}
	return x
}

// firstNonZero is the sign of the first non-zero value, 0 if none.
func firstNonZero(d []float64) float64 {
	for _, v := range d {
		if v != 0 {
			return math.Copysign(1, v)
		}
	}
	return 0
}

// crossing is where the piecewise-linear f(xs) first reaches zero from
// above, interpolated between steps.
func crossing(xs, f []float64) (float64, bool) {
	for i := range f {
		if f[i] <= 0 {
			if i == 0 {
				return xs[0], f[0] == 0
			}
			return xs[i-1] + (xs[i]-xs[i-1])*f[i-1]/(f[i-1]-f[i]), true
		}
	}
	return 0, false
}

// describe says what the crossover is in one sentence.
func (x Crossover) describe() string {
	span := fmt.Sprintf("%s–%s Services", thousands(float64(x.Steps[0])), thousands(float64(x.Steps[len(x.Steps)-1])))
	switch {
	case x.Note != "":
		return fmt.Sprintf("%s vs %s: %s", x.A, x.B, x.Note)
	case !x.Found:
		s := fmt.Sprintf("%s vs %s: no crossover in the measured range (%s): %s is above %s at every common step", x.A, x.B, span, x.Above, x.Below)
		if n := x.apartNote(); n != "" {
			s += "; " + n
		}
		return s
	}
	s := fmt.Sprintf("%s vs %s: %s falls below %s at ≈ %s Services (medians, linear between measured steps)", x.A, x.B, x.Above, x.Below, thousands(sig3(x.At)))
	if x.Bounded {
		lo, hi := thousands(sig3(x.Lo)), thousands(sig3(x.Hi))
		if x.LoOpen {
			lo = "≤ " + lo
		}
		if x.HiOpen {
			hi = "≥ " + hi
		}
		s += fmt.Sprintf("; 95 %% interval from where the bands cross: %s to %s Services", lo, hi)
	} else {
		s += "; no interval: a curve has fewer than 6 samples per step"
	}
	if x.Crossings > 1 {
		s += fmt.Sprintf("; the medians cross %d times in %s: the curves are within each other's noise", x.Crossings, span)
	}
	return s
}

// apartNote says, for curves that do not cross, where their bands part;
// "" when there is no such statement to make.
func (x Crossover) apartNote() string {
	switch {
	case x.Found || x.Note != "" || !x.Bounded:
		return ""
	case x.Apart && x.ApartFrom == x.Steps[0]:
		return "their 95 % bands are apart at every step"
	case x.Apart:
		return fmt.Sprintf("their 95 %% bands overlap below %s Services and are apart from there on", thousands(float64(x.ApartFrom)))
	}
	return fmt.Sprintf("their 95 %% bands still overlap at %s Services: the order is not told from noise", thousands(float64(x.Steps[len(x.Steps)-1])))
}

// sig3 rounds to three significant digits: an interpolated crossover is
// not known to the Service.
func sig3(x float64) float64 {
	if x == 0 {
		return 0
	}
	p := math.Pow(10, math.Floor(math.Log10(math.Abs(x)))-2)
	return math.Round(x/p) * p
}
