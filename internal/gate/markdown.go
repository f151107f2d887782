package gate

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/perf/benchunit"

	"kube-netbench/internal/report"
)

// Headline says what the gate decided: "1 regression", "no regression",
// "incomparable runs".
func (r Result) Headline() string {
	switch n := len(r.With(Regression)); {
	case len(r.Incomparable) > 0:
		return "incomparable runs"
	case n == 1:
		return "1 regression"
	case n > 1:
		return strconv.Itoa(n) + " regressions"
	}
	return "no regression"
}

// Counts is one line of the outcomes' counts.
func (r Result) Counts() string {
	var parts []string
	for _, o := range []Outcome{Regression, Improvement, Unchanged, Inconclusive, NotJudged} {
		parts = append(parts, fmt.Sprintf("%d %s", len(r.With(o)), o))
	}
	return fmt.Sprintf("%d metrics compared: %s; %d in one run only", len(r.Metrics), strings.Join(parts, ", "), len(r.OneSided))
}

// WriteMarkdown writes compare.md: fit for a GitHub job summary, with the
// verdict first, then the fingerprints and their differences, then one
// table per dimension.
func WriteMarkdown(w io.Writer, r Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Regression gate: %s\n\n", r.Headline())
	fmt.Fprintf(&b, "Exit code %d. %s.\n\n", r.ExitCode(), r.Counts())
	if r.Profile != "" {
		fmt.Fprintf(&b, "Tolerances from the profile `%s`.\n\n", r.Profile)
	}
	writeSides(&b, r)
	if len(r.Incomparable) > 0 {
		b.WriteString("## Incomparable\n\n")
		for _, why := range r.Incomparable {
			fmt.Fprintf(&b, "- %s\n", cell(why))
		}
		b.WriteString("\n")
	}
	writeEnvDiffs(&b, r)
	for _, dim := range dimensions(r.Metrics) {
		fmt.Fprintf(&b, "## %s\n\n", dim)
		b.WriteString("| result | metric | baseline | candidate | change [" + confidenceWord(confidenceOf(r)) + " CI] | tolerance | verdict |\n")
		b.WriteString("|---|---|--:|--:|---|---|---|\n")
		for _, m := range r.Metrics {
			if m.Dimension != dim {
				continue
			}
			scale := benchunit.CommonScale([]float64{m.Baseline.Summary.Center, m.Candidate.Summary.Center}, benchunit.ClassOf(m.Unit))
			fmt.Fprintf(&b, "| %s | %s (%s is better) | %s | %s | %s | %s | %s |\n",
				cell(keyString(m.Keys)), cell(m.Unit), m.Better,
				scale.Format(m.Baseline.Summary.Center), scale.Format(m.Candidate.Summary.Center),
				changeCell(m), toleranceCell(m), verdictCell(m))
		}
		b.WriteString("\n")
	}
	writeNotes(&b, r)
	_, err := io.WriteString(w, b.String())
	return err
}

func writeSides(b *strings.Builder, r Result) {
	b.WriteString("| | baseline | candidate |\n|---|---|---|\n")
	row := func(name string, f func(Input) string) {
		fmt.Fprintf(b, "| %s | %s | %s |\n", name, cell(f(r.Baseline)), cell(f(r.Candidate)))
	}
	// each lists the distinct values of the side's runs, e.g. two
	// dataplanes of one CI run.
	each := func(f func(report.Fingerprint) string) func(Input) string {
		return func(in Input) string {
			var vals []string
			for _, s := range in.Runs {
				if v := f(s.Run.Fingerprint); !slices.Contains(vals, v) {
					vals = append(vals, v)
				}
			}
			return strings.Join(vals, ", ")
		}
	}
	row("input", func(in Input) string { return "`" + in.Arg + "`" })
	row("runs", func(in Input) string {
		var ids []string
		for _, s := range in.Runs {
			ids = append(ids, s.Run.ID)
		}
		return strings.Join(ids, ", ")
	})
	row("dataplane", each(func(fp report.Fingerprint) string { return fp.Dataplane + " " + fp.DataplaneVersion }))
	row("Kubernetes", each(func(fp report.Fingerprint) string { return fp.KubernetesVersion }))
	row("kernel", each(func(fp report.Fingerprint) string { return fp.Kernel }))
	row("rounds", each(func(fp report.Fingerprint) string { return fp.Config["ROUNDS"] }))
	b.WriteString("\n")
}

func writeEnvDiffs(b *strings.Builder, r Result) {
	b.WriteString("## Fingerprint differences\n\n")
	if len(r.EnvDiffs) == 0 {
		b.WriteString("None: the compared runs' fingerprints agree.\n\n")
		return
	}
	b.WriteString("| field | baseline | candidate | |\n|---|---|---|---|\n")
	for _, d := range r.EnvDiffs {
		rule := "may differ"
		switch {
		case !d.MayDiffer && r.AllowEnvChange:
			rule = "must not differ; allowed by --allow-env-change"
		case !d.MayDiffer:
			rule = "**must not differ**"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", cell(d.Field), cell(show(d.Baseline)), cell(show(d.Candidate)), rule)
	}
	b.WriteString("\n")
}

// writeNotes lists why each undecided metric is so, what was in one run
// only, and the files not compared.
func writeNotes(b *strings.Builder, r Result) {
	var notes []string
	for _, m := range r.Metrics {
		if m.Outcome == Inconclusive || m.Outcome == NotJudged {
			notes = append(notes, fmt.Sprintf("%s: %s", m.Name(), m.Reason))
		}
	}
	list(b, "Why not decided", notes)
	var one []string
	for _, o := range r.OneSided {
		one = append(one, fmt.Sprintf("%s %s: only in the %s (%s)", resultName(o.Dimension, o.Keys), o.Unit, o.Side, o.File))
	}
	list(b, "In one run only", one)
	var skipped []string
	for _, side := range []struct {
		name string
		in   Input
	}{{"baseline", r.Baseline}, {"candidate", r.Candidate}} {
		for _, s := range side.in.Skipped {
			skipped = append(skipped, fmt.Sprintf("%s %s: %s", side.name, s.Path, s.Reason))
		}
	}
	list(b, "Files not compared", skipped)
}

func list(b *strings.Builder, title string, items []string) {
	if len(items) == 0 {
		return
	}
	fmt.Fprintf(b, "## %s\n\n", title)
	for _, it := range items {
		fmt.Fprintf(b, "- %s\n", cell(it))
	}
	b.WriteString("\n")
}

// dimensions in the order they first appear.
func dimensions(ms []Metric) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range ms {
		if !seen[m.Dimension] {
			seen[m.Dimension] = true
			out = append(out, m.Dimension)
		}
	}
	return out
}

func confidenceOf(r Result) float64 {
	for _, m := range r.Metrics {
		if m.Change.Confidence > 0 {
			return m.Change.Confidence
		}
	}
	return 0.95
}

func keyString(keys []report.KV) string {
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k.Key+"="+k.Value)
	}
	return strings.Join(parts, " ")
}

func changeCell(m Metric) string {
	if m.Change.Method == "" {
		return "—"
	}
	if !m.Change.Bounded() {
		return signed(m.Change.Center) + " % (no interval)"
	}
	return fmt.Sprintf("%s %% [%s, %s]", signed(m.Change.Center), signed(m.Change.Lo), signed(m.Change.Hi))
}

func toleranceCell(m Metric) string {
	if !m.HasTolerance {
		return "none"
	}
	return "±" + strconv.FormatFloat(m.Tolerance.Pct, 'f', -1, 64) + " %"
}

func verdictCell(m Metric) string {
	switch m.Outcome {
	case Regression:
		return "**regression**"
	case Inconclusive:
		if m.Change.Method != "" && m.Change.Bounded() {
			return "inconclusive (straddles)"
		}
		return "inconclusive (no interval)"
	}
	return string(m.Outcome)
}

// signed formats a percentage with its sign and one decimal; an unbounded
// side of an interval reads +inf or -inf.
func signed(x float64) string {
	switch {
	case math.IsInf(x, 1):
		return "+inf"
	case math.IsInf(x, -1):
		return "-inf"
	}
	return fmt.Sprintf("%+.1f", x)
}

// cell makes text safe in a Markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
