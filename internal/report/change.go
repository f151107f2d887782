package report

import "kube-netbench/internal/stats"

// Change is a relative change in percent (a stats.Comparison) as results
// write it: an unbounded side of the interval (too few samples) is null,
// never a made-up number, and JSON cannot hold ±Inf anyway.
type Change struct {
	Pct        float64  `json:"pct"`
	Lo         *float64 `json:"ci_lo"`
	Hi         *float64 `json:"ci_hi"`
	Confidence float64  `json:"confidence"`
	P          float64  `json:"p_value"`
	Warnings   []string `json:"warnings,omitempty"`
}

// NewChange converts a comparison for writing.
func NewChange(c stats.Comparison) *Change {
	return &Change{Pct: c.Center, Lo: finite(c.Lo), Hi: finite(c.Hi), Confidence: c.Confidence, P: c.P, Warnings: c.Warnings}
}
