package stats

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func seq(from float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = from + float64(i)
	}
	return out
}

func TestChange(t *testing.T) {
	t.Run("clear degradation", func(t *testing.T) {
		// Medians 104.5 and 94.5: -9.57 %; every treatment sample is below
		// every baseline sample, so the U test is as significant as 10+10
		// samples allow.
		c, err := Change(seq(100, 10), seq(90, 10), 0.95)
		if err != nil {
			t.Fatal(err)
		}
		want := (94.5 - 104.5) / 104.5 * 100
		if math.Abs(c.Center-want) > 1e-9 {
			t.Errorf("center = %v, want %v", c.Center, want)
		}
		if !(c.Lo < c.Center && c.Center < c.Hi && c.Hi < 0) {
			t.Errorf("interval [%v, %v] should contain %v and exclude 0", c.Lo, c.Hi, c.Center)
		}
		// The resampled medians stay within the data: 90..99 over 100..109.
		if c.Lo < (90.0/109-1)*100 || c.Hi > (99.0/100-1)*100 {
			t.Errorf("interval [%v, %v] is outside what the data allow", c.Lo, c.Hi)
		}
		if c.Method != MethodBootstrap || c.Test != TestMannWhitneyU || c.Confidence != 0.95 {
			t.Errorf("method %q test %q confidence %v", c.Method, c.Test, c.Confidence)
		}
		if !c.Significant() || c.P > 0.001 || c.Alpha != 0.05 {
			t.Errorf("p = %v alpha = %v, want significant at 0.05 with p < 0.001", c.P, c.Alpha)
		}
		if c.Baseline.Center != 104.5 || c.Treatment.Center != 94.5 || c.Baseline.N != 10 {
			t.Errorf("side summaries: %+v, %+v", c.Baseline, c.Treatment)
		}
		checkWarning(t, c.Warnings, "")
	})

	t.Run("deterministic and independent of sample order", func(t *testing.T) {
		b := []float64{101, 99, 104, 98, 100, 103, 97, 102}
		tr := []float64{100, 96, 99, 101, 95, 98, 97, 102}
		first, err := Change(b, tr, 0.95)
		if err != nil {
			t.Fatal(err)
		}
		rb, rt := slices.Clone(b), slices.Clone(tr)
		slices.Reverse(rb)
		slices.Reverse(rt)
		second, err := Change(rb, rt, 0.95)
		if err != nil {
			t.Fatal(err)
		}
		if first.Lo != second.Lo || first.Hi != second.Hi || first.Center != second.Center || first.P != second.P {
			t.Errorf("first %+v\nsecond %+v", first, second)
		}
		if !slices.Equal(b, []float64{101, 99, 104, 98, 100, 103, 97, 102}) {
			t.Errorf("Change reordered its input: %v", b)
		}
		checkWarning(t, first.Warnings, "")
	})

	t.Run("all samples equal", func(t *testing.T) {
		c, err := Change([]float64{100, 100, 100, 100, 100, 100}, []float64{100, 100, 100, 100, 100, 100}, 0.95)
		if err != nil {
			t.Fatal(err)
		}
		if c.Center != 0 || c.Lo != 0 || c.Hi != 0 || c.Significant() {
			t.Errorf("got %v [%v, %v] p=%v, want 0 [0, 0] not significant", c.Center, c.Lo, c.Hi, c.P)
		}
		checkWarning(t, c.Warnings, "all samples are equal")
	})

	t.Run("constant shift", func(t *testing.T) {
		c, err := Change([]float64{200, 200, 200, 200, 200, 200}, []float64{190, 190, 190, 190, 190, 190}, 0.95)
		if err != nil {
			t.Fatal(err)
		}
		if c.Center != -5 || c.Lo != -5 || c.Hi != -5 || !c.Significant() {
			t.Errorf("got %v [%v, %v] p=%v, want -5 [-5, -5] significant", c.Center, c.Lo, c.Hi, c.P)
		}
	})

	t.Run("n < 6 has no interval", func(t *testing.T) {
		c, err := Change([]float64{100, 101, 99}, []float64{90, 91, 89}, 0.95)
		if err != nil {
			t.Fatal(err)
		}
		if c.Bounded() || !math.IsInf(c.Lo, -1) || !math.IsInf(c.Hi, 1) {
			t.Errorf("interval [%v, %v], want (-Inf, +Inf)", c.Lo, c.Hi)
		}
		if c.Center != -10 {
			t.Errorf("center = %v, want -10", c.Center)
		}
		checkWarning(t, c.Warnings, "baseline: need >= 6 samples for confidence interval at level 0.95")
		checkWarning(t, c.Warnings, "need >= 4 samples to detect a difference at alpha level 0.05")
		checkWarning(t, c.Warnings, "no interval for the change: baseline has 3 and treatment 3 samples")
	})
}

func TestChangeRejects(t *testing.T) {
	ok := seq(100, 6)
	tests := []struct {
		name                string
		baseline, treatment []float64
		confidence          float64
		want                error
	}{
		{"baseline of zero", []float64{0, 0, 0, 0, 0, 0}, ok, 0.95, ErrBaselineNotPositive},
		{"one zero in the baseline", []float64{100, 0, 100, 100, 100, 100}, ok, 0.95, ErrBaselineNotPositive},
		{"negative baseline", []float64{-1, -2, -3, -4, -5, -6}, ok, 0.95, ErrBaselineNotPositive},
		{"NaN in the baseline", []float64{100, math.NaN()}, ok, 0.95, ErrNotFinite},
		{"NaN in the treatment", ok, []float64{math.NaN(), 1}, 0.95, ErrNotFinite},
		{"Inf in the treatment", ok, []float64{math.Inf(1)}, 0.95, ErrNotFinite},
		{"no baseline", nil, ok, 0.95, ErrNoSamples},
		{"no treatment", ok, nil, 0.95, ErrNoSamples},
		{"bad confidence", ok, ok, 1.5, ErrConfidence},
		{"overflowing ratio", []float64{1e-300}, []float64{1e300}, 0.95, ErrNotFinite},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Change(tt.baseline, tt.treatment, tt.confidence)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Change error = %v, want %v (result %+v)", err, tt.want, c)
			}
		})
	}
}

// TestChangeCoverage checks by simulation that the bootstrap interval
// covers the true change at least about as often as it claims, for a known
// 5 % drop of the median: log-normal samples (right-skewed, like latencies
// and noisy rates) and a mixture where 15 % of rounds collapse to 70 %
// (a noisy neighbour), at the smallest sample count with an interval and
// at the recommended one.
func TestChangeCoverage(t *testing.T) {
	if testing.Short() {
		t.Skip("simulation")
	}
	lognormal := func(rng *rand.Rand, median float64) float64 {
		return median * math.Exp(0.1*rng.NormFloat64())
	}
	collapsing := func(rng *rand.Rand, median float64) float64 {
		x := median * (1 + 0.01*rng.NormFloat64())
		if rng.Float64() < 0.15 {
			x *= 0.7
		}
		return x
	}
	tests := []struct {
		name string
		n    int
		draw func(*rand.Rand, float64) float64
	}{
		{"log-normal, 6 per side", 6, lognormal},
		{"log-normal, 10 per side", 10, lognormal},
		{"collapsing rounds, 10 per side", 10, collapsing},
	}
	const sims, truth = 200, -5.0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(1, 2))
			sample := func(median float64) []float64 {
				out := make([]float64, tt.n)
				for i := range out {
					out[i] = tt.draw(rng, median)
				}
				return out
			}
			covered := 0
			for range sims {
				c, err := Change(sample(1000), sample(950), 0.95)
				if err != nil {
					t.Fatal(err)
				}
				if c.Lo <= truth+1e-9 && truth-1e-9 <= c.Hi {
					covered++
				}
			}
			rate := float64(covered) / sims
			t.Logf("coverage of the nominal 95 %% interval: %.3f", rate)
			if rate < 0.90 {
				t.Errorf("coverage %.3f is far below the nominal 0.95", rate)
			}
		})
	}
}

func TestPairedChange(t *testing.T) {
	t.Run("ten interleaved pairs", func(t *testing.T) {
		// Per-pair changes, sorted: -3 -2.8 -2.5 -2.2 -2 -1.8 -1.5 -1.2 -1
		// -0.5. Median -1.9; order statistics 2 and 9 give [-2.8, -1.0] at
		// level 1 - 22/1024; all ten are negative, so the sign test's p is
		// 2/1024.
		d := []float64{-3, -2.5, -2, -1.8, -1.5, -1.2, -1, -0.5, -2.2, -2.8}
		pairs := make([][2]float64, len(d))
		for i, x := range d {
			b := 1000 + 10*float64(i) // drift across rounds cancels out
			pairs[i] = [2]float64{b, b * (1 + x/100)}
		}
		c, err := PairedChange(pairs, 0.95)
		if err != nil {
			t.Fatal(err)
		}
		near := func(got, want float64) bool { return math.Abs(got-want) < 1e-9 }
		if !near(c.Center, -1.9) || !near(c.Lo, -2.8) || !near(c.Hi, -1.0) {
			t.Errorf("got %v [%v, %v], want -1.9 [-2.8, -1.0]", c.Center, c.Lo, c.Hi)
		}
		if !near(c.Confidence, 1-22.0/1024) || !near(c.P, 2.0/1024) || !c.Significant() {
			t.Errorf("confidence %v p %v", c.Confidence, c.P)
		}
		if c.Method != MethodPaired || c.Test != TestSign || c.Baseline.N != 10 || c.Treatment.N != 10 {
			t.Errorf("method %q test %q n %d+%d", c.Method, c.Test, c.Baseline.N, c.Treatment.N)
		}
		checkWarning(t, c.Warnings, "")
	})

	t.Run("n < 6 warns", func(t *testing.T) {
		c, err := PairedChange([][2]float64{{100, 99}, {100, 101}, {100, 98}}, 0.95)
		if err != nil {
			t.Fatal(err)
		}
		if c.Bounded() {
			t.Errorf("interval [%v, %v] should be unbounded", c.Lo, c.Hi)
		}
		checkWarning(t, c.Warnings, "need >= 6 samples")
	})

	t.Run("rejects", func(t *testing.T) {
		for name, tt := range map[string]struct {
			pairs [][2]float64
			want  error
		}{
			"no pairs":      {nil, ErrNoSamples},
			"zero baseline": {[][2]float64{{100, 99}, {0, 98}}, ErrBaselineNotPositive},
			"NaN baseline":  {[][2]float64{{math.NaN(), 99}}, ErrNotFinite},
			"NaN treatment": {[][2]float64{{100, math.NaN()}}, ErrNotFinite},
			"huge ratio":    {[][2]float64{{1e-300, 1e300}}, ErrNotFinite},
		} {
			if _, err := PairedChange(tt.pairs, 0.95); !errors.Is(err, tt.want) {
				t.Errorf("%s: error = %v, want %v", name, err, tt.want)
			}
		}
	})
}

func TestSignTest(t *testing.T) {
	tests := []struct {
		up, down int
		want     float64
	}{
		{0, 0, 1},
		{5, 5, 1},
		{10, 0, 2.0 / 1024},
		{1, 9, 22.0 / 1024},
		{3, 3, 1},
		{0, 6, 2.0 / 64},
	}
	for _, tt := range tests {
		if got := signTest(tt.up, tt.down); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("signTest(%d, %d) = %v, want %v", tt.up, tt.down, got, tt.want)
		}
	}
}

func TestNegate(t *testing.T) {
	c := Comparison{Center: -2, Lo: -3, Hi: 0}.Negate()
	if c.Center != 2 || c.Lo != 0 || c.Hi != 3 || math.Signbit(c.Lo) {
		t.Errorf("Negate: %v [%v, %v], want 2 [+0, 3]", c.Center, c.Lo, c.Hi)
	}
}
