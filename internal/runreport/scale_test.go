package runreport

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"kube-netbench/internal/stats"
)

// curve builds a curve whose step i has the samples around medians[i]
// (n rounds, ±spread).
func curve(t *testing.T, n int, spread float64, steps []int, medians []float64) Curve {
	t.Helper()
	c := Curve{Conn: "short"}
	for i, s := range steps {
		xs := make([]float64, n)
		for j := range xs {
			xs[j] = medians[i] + spread*(float64(j)/float64(max(n-1, 1))*2-1)
		}
		sum, err := stats.Summarize(xs, stats.DefaultConfidence)
		require.NoError(t, err)
		c.Points = append(c.Points, Point{Services: s, Samples: xs, Summary: sum})
	}
	return c
}

func TestCrossover(t *testing.T) {
	steps := []int{0, 1000, 5000, 10000}
	for name, tc := range map[string]struct {
		a, b       Curve
		want       Crossover
		wantString string
	}{
		"a falls below b between 5000 and 10000": {
			a: curve(t, 6, 10, steps, []float64{3000, 2900, 2000, 1000}),
			b: curve(t, 6, 10, steps, []float64{1500, 1500, 1500, 1500}),
			want: Crossover{A: "a", B: "b", Steps: steps, Found: true, At: 7500, Above: "a", Below: "b", Bounded: true,
				Lo: 7400, Hi: 7600, Crossings: 1},
			wantString: "a vs b: a falls below b at ≈ 7,500 Services (medians, linear between measured steps); 95 % interval from where the bands cross: 7,400 to 7,600 Services",
		},
		"b starts higher and falls below a": {
			a: curve(t, 6, 10, steps, []float64{1500, 1500, 1500, 1500}),
			b: curve(t, 6, 10, steps, []float64{3000, 2900, 2000, 1000}),
			want: Crossover{A: "a", B: "b", Steps: steps, Found: true, At: 7500, Above: "b", Below: "a", Bounded: true,
				Lo: 7400, Hi: 7600, Crossings: 1},
		},
		"no crossover": {
			a:          curve(t, 6, 10, steps, []float64{3000, 2900, 2000, 1600}),
			b:          curve(t, 6, 10, steps, []float64{1500, 1500, 1500, 1500}),
			want:       Crossover{A: "a", B: "b", Steps: steps, Above: "a", Below: "b", Bounded: true, Apart: true, ApartFrom: 0},
			wantString: "a vs b: no crossover in the measured range (0–10,000 Services): a is above b at every common step; their 95 % bands are apart at every step",
		},
		// The lab's iptables against Cilium native: level at 0 within
		// noise, apart from the first step of Services on.
		"no crossover: level at first, apart later": {
			a:          curve(t, 6, 300, steps, []float64{1600, 2000, 2500, 3000}),
			b:          curve(t, 6, 300, steps, []float64{1500, 1500, 1500, 1500}),
			want:       Crossover{A: "a", B: "b", Steps: steps, Above: "a", Below: "b", Bounded: true, Apart: true, ApartFrom: 5000},
			wantString: "a vs b: no crossover in the measured range (0–10,000 Services): a is above b at every common step; their 95 % bands overlap below 5,000 Services and are apart from there on",
		},
		"no crossover: bands never part": {
			a:          curve(t, 6, 500, steps, []float64{1600, 2500, 1600, 1600}),
			b:          curve(t, 6, 500, steps, []float64{1500, 1500, 1500, 1500}),
			want:       Crossover{A: "a", B: "b", Steps: steps, Above: "a", Below: "b", Bounded: true},
			wantString: "a vs b: no crossover in the measured range (0–10,000 Services): a is above b at every common step; their 95 % bands still overlap at 10,000 Services: the order is not told from noise",
		},
		"no crossover without intervals": {
			a:          curve(t, 2, 10, steps, []float64{3000, 2900, 2000, 1600}),
			b:          curve(t, 2, 10, steps, []float64{1500, 1500, 1500, 1500}),
			want:       Crossover{A: "a", B: "b", Steps: steps, Above: "a", Below: "b"},
			wantString: "a vs b: no crossover in the measured range (0–10,000 Services): a is above b at every common step",
		},
		"bands overlap from the start and never part": {
			a: curve(t, 6, 500, steps, []float64{1600, 1550, 1500, 1400}),
			b: curve(t, 6, 500, steps, []float64{1500, 1500, 1500, 1500}),
			want: Crossover{A: "a", B: "b", Steps: steps, Found: true, At: 5000, Above: "a", Below: "b", Bounded: true,
				Lo: 0, LoOpen: true, Hi: 10000, HiOpen: true, Crossings: 1},
			wantString: "a vs b: a falls below b at ≈ 5,000 Services (medians, linear between measured steps); 95 % interval from where the bands cross: ≤ 0 to ≥ 10,000 Services",
		},
		"two rounds: a crossover without interval": {
			a:          curve(t, 2, 10, steps, []float64{3000, 2900, 2000, 1000}),
			b:          curve(t, 2, 10, steps, []float64{1500, 1500, 1500, 1500}),
			want:       Crossover{A: "a", B: "b", Steps: steps, Found: true, At: 7500, Above: "a", Below: "b", Crossings: 1},
			wantString: "a vs b: a falls below b at ≈ 7,500 Services (medians, linear between measured steps); no interval: a curve has fewer than 6 samples per step",
		},
		"noise: the medians cross twice": {
			a: curve(t, 6, 10, steps, []float64{1510, 1490, 1510, 1490}),
			b: curve(t, 6, 10, steps, []float64{1500, 1500, 1500, 1500}),
			want: Crossover{A: "a", B: "b", Steps: steps, Found: true, At: 500, Above: "a", Below: "b", Bounded: true,
				Lo: 0, LoOpen: true, Hi: 10000, HiOpen: true, Crossings: 3},
		},
		"one common step": {
			a:          curve(t, 6, 10, []int{0, 1000}, []float64{3000, 2900}),
			b:          curve(t, 6, 10, []int{0, 5000}, []float64{1500, 1500}),
			want:       Crossover{A: "a", B: "b", Steps: []int{0}, Note: "fewer than two common steps ([0]): no curve to compare"},
			wantString: "a vs b: fewer than two common steps ([0]): no curve to compare",
		},
	} {
		t.Run(name, func(t *testing.T) {
			got := crossover("a", "b", tc.a, tc.b)
			got.At, got.Lo, got.Hi = math.Round(got.At), math.Round(got.Lo), math.Round(got.Hi)
			require.Equal(t, tc.want, got)
			if tc.wantString != "" {
				require.Equal(t, tc.wantString, got.describe())
			}
		})
	}
}

func TestCrossing(t *testing.T) {
	xs := []float64{0, 10, 20}
	for _, tc := range []struct {
		f    []float64
		x    float64
		want bool
	}{
		{[]float64{2, 1, -1}, 15, true},
		{[]float64{2, 0, -1}, 10, true},
		{[]float64{0, 1, 1}, 0, true},
		{[]float64{2, 1, 0.5}, 0, false},
	} {
		x, ok := crossing(xs, tc.f)
		require.Equal(t, tc.want, ok, "%v", tc.f)
		require.InDelta(t, tc.x, x, 1e-9, "%v", tc.f)
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		unit    string
		samples []float64
		want    string
	}{
		{"req/s", []float64{13511.7, 14195.5}, "13854 req/s, no interval (n=2)"},
		{"p99-sec", []float64{0.000119, 0.000175}, "147 µs, no interval (n=2)"},
		{"p50-sec", []float64{0.0486, 0.0483, 0.049, 0.05, 0.047, 0.0481}, "48.4 [47.0, 50.0] ms (n=6)"},
		{"bits/s", []float64{1.0425e10, 1.1386e10}, "10.9 Gbit/s, no interval (n=2)"},
		{"B", []float64{1.44e7, 1.36e7}, "13.4 MiB, no interval (n=2)"},
		{"client-cpu-%", []float64{59.5, 59.6}, "59.5 %, no interval (n=2)"},
		{"retrans", []float64{0}, "0 retrans, no interval (n=1)"},
	} {
		s, err := stats.Summarize(tc.samples, stats.DefaultConfidence)
		require.NoError(t, err)
		require.Equal(t, tc.want, cell(s, tc.unit))
	}
	require.Equal(t, "0.500", num(0.5))
	require.Equal(t, "-30,000", thousands(-30000))
	require.Equal(t, 7750.0, sig3(7749))
}

func TestScaleCellString(t *testing.T) {
	six, err := stats.Summarize([]float64{180e-6, 190e-6, 200e-6, 200e-6, 210e-6, 220e-6}, stats.DefaultConfidence)
	require.NoError(t, err)
	two, err := stats.Summarize([]float64{40e-6, 42e-6}, stats.DefaultConfidence)
	require.NoError(t, err)
	c, err := stats.Change([]float64{100, 101, 99, 100, 102, 98}, []float64{150, 151, 149, 150, 152, 148}, stats.DefaultConfidence)
	require.NoError(t, err)
	require.Equal(t, "—", ScaleCell{}.String())
	require.Equal(t, "200 µs ±10.0 %", ScaleCell{Unit: "p50-sec", Summary: six}.String())
	require.Equal(t, "41.0 µs/conn, no interval (n=2)", ScaleCell{Unit: "kernel-sec/conn", Summary: two}.String())
	require.Equal(t, "200 µs ±10.0 %; "+pct(c), ScaleCell{Unit: "p50-sec", Summary: six, Change: &c}.String())
}

func TestSortSteps(t *testing.T) {
	steps := []string{"0-closing", "10000", "0", "1000"}
	require.NoError(t, sortSteps(steps))
	require.Equal(t, []string{"0", "1000", "10000", "0-closing"}, steps)
	require.ErrorContains(t, sortSteps([]string{"0", "many"}), `svc="many" is not a Service count`)
	require.Equal(t, "10,000", stepLabel("10000"))
	require.Equal(t, "0 (closing)", stepLabel("0-closing"))
}
