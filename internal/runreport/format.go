package runreport

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"kube-netbench/internal/stats"
)

// scale is how a metric's values are shown: divided by factor, followed by
// label.
type scale struct {
	factor float64
	label  string
}

// scaleFor picks the display unit of a metric from its unit and a typical
// value (the median), so that a row reads "48.3 ms", not "0.0483 sec".
func scaleFor(unit string, v float64) scale {
	a := math.Abs(v)
	switch {
	case strings.HasSuffix(unit, "-sec/conn"):
		s := scaleFor("sec", v)
		s.label += "/conn"
		return s
	case unit == "sec" || strings.HasSuffix(unit, "-sec"):
		switch {
		case a != 0 && a < 1e-3:
			return scale{1e-6, "µs"}
		case a != 0 && a < 1:
			return scale{1e-3, "ms"}
		}
		return scale{1, "s"}
	case unit == "bits/s":
		for _, s := range []scale{{1e9, "Gbit/s"}, {1e6, "Mbit/s"}, {1e3, "kbit/s"}} {
			if a >= s.factor {
				return s
			}
		}
		return scale{1, "bit/s"}
	case unit == "B" || strings.HasSuffix(unit, "-B"):
		for _, s := range []scale{{1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
			if a >= s.factor {
				return s
			}
		}
		return scale{1, "B"}
	case strings.HasSuffix(unit, "-%"):
		return scale{1, "%"}
	}
	return scale{1, unit}
}

// num formats x with at least three significant digits and at most three
// decimals, fixed notation: 13854, 48.3, 1.88, 0.500.
func num(x float64) string {
	if x == 0 {
		return "0"
	}
	d := 2 - int(math.Floor(math.Log10(math.Abs(x))))
	d = min(max(d, 0), 3)
	return strconv.FormatFloat(x, 'f', d, 64)
}

// cell renders a summary as "median [lo, hi] unit (n=N)", or
// "median unit, no interval (n=N)" when there are too few samples.
func cell(s stats.Summary, unit string) string {
	sc := scaleFor(unit, s.Center)
	v := func(x float64) string { return num(x / sc.factor) }
	if !s.Bounded() {
		return fmt.Sprintf("%s %s, no interval (n=%d)", v(s.Center), sc.label, s.N)
	}
	return fmt.Sprintf("%s [%s, %s] %s (n=%d)", v(s.Center), v(s.Lo), v(s.Hi), sc.label, s.N)
}

// pct renders a relative change in percent with its interval.
func pct(c stats.Comparison) string {
	if !c.Bounded() {
		return fmt.Sprintf("%+.1f %%, no interval (n=%d/%d)", c.Center, c.Baseline.N, c.Treatment.N)
	}
	return fmt.Sprintf("%+.1f %% [%+.1f, %+.1f] (n=%d/%d)", c.Center, c.Lo, c.Hi, c.Baseline.N, c.Treatment.N)
}

// thousands formats a Service count as 10,000.
func thousands(x float64) string {
	s := strconv.FormatFloat(math.Round(x), 'f', 0, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// escape makes s safe inside a Markdown table cell.
func escape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
