package stats

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestSummarize(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		name       string
		samples    []float64
		confidence float64
		want       Summary
		warning    string // substring of a warning; "" means no warnings
	}{{
		// Order statistics 2 and 9 of 10: P(Bin(10, ½) <= 1) = 11/1024 per
		// tail, so the interval's actual level is 1 - 22/1024.
		name:       "ten samples, 95 %",
		samples:    []float64{7, 3, 10, 1, 5, 9, 2, 8, 6, 4},
		confidence: 0.95,
		want:       Summary{N: 10, Center: 5.5, Lo: 2, Hi: 9, Confidence: 1 - 22.0/1024},
	}, {
		// Six is the fewest samples with a 95 % interval: min and max,
		// at level 1 - 2/64.
		name:       "six samples is the minimum for 95 %",
		samples:    []float64{105, 101, 103, 102, 104, 100},
		confidence: 0.95,
		want:       Summary{N: 6, Center: 102.5, Lo: 100, Hi: 105, Confidence: 1 - 2.0/64},
	}, {
		// Five samples give only a one-sided 95 % interval, (-Inf, max],
		// at level 1 - 1/32.
		name:       "five samples have no 95 % interval",
		samples:    []float64{3, 1, 2, 5, 4},
		confidence: 0.95,
		want:       Summary{N: 5, Center: 3, Lo: -inf, Hi: 5, Confidence: 1 - 1.0/32},
		warning:    "need >= 6 samples for confidence interval at level 0.95",
	}, {
		name:       "one sample (n=1, W-STAT-1)",
		samples:    []float64{42},
		confidence: 0.95,
		want:       Summary{N: 1, Center: 42, Lo: -inf, Hi: inf, Confidence: 0},
		warning:    "need >= 6 samples",
	}, {
		name:       "five samples suffice at 90 %",
		samples:    []float64{3, 1, 2, 5, 4},
		confidence: 0.90,
		want:       Summary{N: 5, Center: 3, Lo: 1, Hi: 5, Confidence: 1 - 2.0/32},
	}, {
		name:       "all samples equal",
		samples:    []float64{7, 7, 7, 7, 7, 7},
		confidence: 0.95,
		want:       Summary{N: 6, Center: 7, Lo: 7, Hi: 7, Confidence: 1 - 2.0/64},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := slices.Clone(tt.samples)
			got, err := Summarize(tt.samples, tt.confidence)
			if err != nil {
				t.Fatalf("Summarize: %v", err)
			}
			if !slices.Equal(tt.samples, orig) {
				t.Errorf("Summarize reordered its input: %v, was %v", tt.samples, orig)
			}
			if got.N != tt.want.N || got.Center != tt.want.Center || got.Lo != tt.want.Lo || got.Hi != tt.want.Hi {
				t.Errorf("got n=%d %v [%v, %v], want n=%d %v [%v, %v]",
					got.N, got.Center, got.Lo, got.Hi, tt.want.N, tt.want.Center, tt.want.Lo, tt.want.Hi)
			}
			if tt.want.Confidence != 0 && math.Abs(got.Confidence-tt.want.Confidence) > 1e-12 {
				t.Errorf("confidence = %v, want %v", got.Confidence, tt.want.Confidence)
			}
			if got.Bounded() != tt.want.Bounded() {
				t.Errorf("Bounded() = %v, want %v", got.Bounded(), tt.want.Bounded())
			}
			checkWarning(t, got.Warnings, tt.warning)
		})
	}
}

func TestSummarizeRejects(t *testing.T) {
	tests := []struct {
		name       string
		samples    []float64
		confidence float64
		want       error
	}{
		{"no samples", nil, 0.95, ErrNoSamples},
		{"NaN sample", []float64{1, math.NaN(), 3}, 0.95, ErrNotFinite},
		{"+Inf sample", []float64{1, math.Inf(1)}, 0.95, ErrNotFinite},
		{"-Inf sample", []float64{math.Inf(-1)}, 0.95, ErrNotFinite},
		{"confidence 0", []float64{1, 2, 3}, 0, ErrConfidence},
		{"confidence 1", []float64{1, 2, 3}, 1, ErrConfidence},
		{"confidence in percent", []float64{1, 2, 3}, 95, ErrConfidence},
		{"confidence NaN", []float64{1, 2, 3}, math.NaN(), ErrConfidence},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Summarize(tt.samples, tt.confidence)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Summarize error = %v, want %v (summary %+v)", err, tt.want, got)
			}
		})
	}
}

// TestPercentileAcrossRounds checks that per-round p99s are summarized as
// a distribution (median and interval), not averaged (W-STAT-2): one bad
// round moves a mean of p99s but not their median.
func TestPercentileAcrossRounds(t *testing.T) {
	p99 := []float64{110e-6, 104e-6, 2000e-6, 107e-6, 103e-6, 108e-6, 105e-6}
	got, err := PercentileAcrossRounds(p99, DefaultConfidence)
	if err != nil {
		t.Fatal(err)
	}
	if got.Center != 107e-6 {
		t.Errorf("center = %v, want the median per-round p99 107e-6", got.Center)
	}
	if got.Lo != 103e-6 || got.Hi != 2000e-6 {
		t.Errorf("interval = [%v, %v], want [103e-6, 2000e-6]: the outlier round widens the interval", got.Lo, got.Hi)
	}
	if _, err := PercentileAcrossRounds([]float64{1, math.NaN()}, DefaultConfidence); !errors.Is(err, ErrNotFinite) {
		t.Errorf("NaN round: error = %v, want ErrNotFinite", err)
	}
}

// checkWarning asserts that some warning contains want, or that there are
// no warnings when want is "".
func checkWarning(t *testing.T, warnings []string, want string) {
	t.Helper()
	if want == "" {
		if len(warnings) != 0 {
			t.Errorf("unexpected warnings: %q", warnings)
		}
		return
	}
	for _, w := range warnings {
		if strings.Contains(w, want) {
			return
		}
	}
	t.Errorf("warnings %q do not contain %q", warnings, want)
}

func TestHalfWidthPct(t *testing.T) {
	s, err := Summarize([]float64{90, 95, 100, 100, 105, 110}, DefaultConfidence)
	if err != nil {
		t.Fatal(err)
	}
	// Six samples: the 95 % interval is the extremes, [90, 110] around 100.
	if hw, ok := s.HalfWidthPct(); !ok || math.Abs(hw-10) > 1e-9 {
		t.Errorf("HalfWidthPct of %+v = %v, %v; want 10, true", s, hw, ok)
	}
	few, err := Summarize([]float64{1, 2}, DefaultConfidence)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		s    Summary
		want float64
		ok   bool
	}{
		{"no interval, no half-width", few, 0, false},
		{"a median of 0 has no relative width", Summary{N: 6, Center: 0, Lo: -1, Hi: 1}, 0, false},
		{"a negative median counts by its size", Summary{N: 6, Center: -50, Lo: -60, Hi: -40}, 20, true},
	} {
		if hw, ok := tc.s.HalfWidthPct(); ok != tc.ok || math.Abs(hw-tc.want) > 1e-9 {
			t.Errorf("%s: HalfWidthPct = %v, %v; want %v, %v", tc.name, hw, ok, tc.want, tc.ok)
		}
	}
}
