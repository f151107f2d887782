package gate

import (
	"encoding/xml"
	"fmt"
	"io"
)

// JUnit XML as CI systems read it (the schema gotestsum and Jenkins use):
// one testsuite per dimension, one testcase per metric.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitMessage `xml:"failure"`
	Skipped   *junitMessage `xml:"skipped"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the comparison as JUnit XML: a failure for each
// regression, skipped for an inconclusive or unjudged metric (with the
// reason) and for a metric in one run only, a pass otherwise with the
// change in its output. Incomparable runs add a "comparability" suite with
// one failure per reason.
func WriteJUnit(w io.Writer, r Result) error {
	suites := junitSuites{Name: "netbench compare"}
	index := map[string]int{}
	add := func(suite string, c junitCase) {
		i, ok := index[suite]
		if !ok {
			i = len(suites.Suites)
			index[suite] = i
			suites.Suites = append(suites.Suites, junitSuite{Name: suite})
		}
		s := &suites.Suites[i]
		c.Classname = suite
		s.Cases = append(s.Cases, c)
		s.Tests++
		suites.Tests++
		switch {
		case c.Failure != nil:
			s.Failures++
			suites.Failures++
		case c.Skipped != nil:
			s.Skipped++
			suites.Skipped++
		}
	}
	for i, why := range r.Incomparable {
		add("comparability", junitCase{Name: fmt.Sprintf("reason %d", i+1), Failure: &junitMessage{Message: why, Type: "incomparable"}})
	}
	for _, m := range r.Metrics {
		c := junitCase{Name: keyString(m.Keys) + " " + m.Unit}
		detail := fmt.Sprintf("%s: baseline median %g (n=%d, %s), candidate median %g (n=%d, %s), change %s, tolerance %s: %s",
			m.Name(), m.Baseline.Summary.Center, m.Baseline.Summary.N, m.BaselineFile,
			m.Candidate.Summary.Center, m.Candidate.Summary.N, m.CandidateFile, changeCell(m), toleranceText(m), m.Reason)
		switch m.Outcome {
		case Regression:
			c.Failure = &junitMessage{Message: "regression: " + changeCell(m) + " beyond " + toleranceCell(m), Type: "regression", Text: detail}
		case Inconclusive, NotJudged:
			c.Skipped = &junitMessage{Message: string(m.Outcome) + ": " + m.Reason}
			c.SystemOut = detail
		default:
			c.SystemOut = detail
		}
		add(m.Dimension, c)
	}
	for _, o := range r.OneSided {
		add(o.Dimension, junitCase{Name: keyString(o.Keys) + " " + o.Unit,
			Skipped: &junitMessage{Message: "only in the " + o.Side + " (" + o.File + ")"}})
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(suites); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func toleranceText(m Metric) string {
	if !m.HasTolerance {
		return "none"
	}
	return m.Tolerance.String()
}
