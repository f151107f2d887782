package netperf

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// needed are the selectors no result can do without: the rate and the
// percentiles every consumer reads (the latency dimension, the seed import).
var needed = []string{"THROUGHPUT", "P50_LATENCY", "P90_LATENCY", "P99_LATENCY"}

// Needed returns the selectors Parse requires.
func Needed() []string { return slices.Clone(needed) }

// maxSaid is how many lines of text that is not netperf's result an error quotes.
const maxSaid = 3

// banners maps the start of netperf's test banner to the test it names.
var banners = map[string]Type{
	"MIGRATED TCP REQUEST/RESPONSE TEST":         TCPRR,
	"MIGRATED TCP Connect/Request/Response TEST": TCPCRR,
}

// keyval is a line of -k output: SELECTOR=value.
var keyval = regexp.MustCompile(`^([A-Z][A-Z0-9_]*)=(.*)$`)

// Parse reads the output of a netperf request/response run in either
// machine-readable form netperf writes: -o (a CSV header line naming the
// columns, then a values line) or -k (SELECTOR=value lines), with or without
// the test banner. Any selectors in any order are read: those of Needed are
// required, the others of Selectors are checked where present (Absent lists
// the missing ones), unknown ones are ignored. netperf's own error text (it
// writes it to stdout) is quoted; the classic table and -O output, which
// carry no percentiles or no column names a parser can trust, are named as
// such; a value that is not a number, a rate not in Trans/s, percentiles out
// of order or no transaction at all fail.
func Parse(r io.Reader) (Result, error) {
	return parse(r, needed)
}

// SeedSelectors are the -o selectors of the seed script's latency tests
// (MIN, MEAN, P50, P90, P99 and MAX latency, THROUGHPUT): no units column,
// no retransmissions, sizes or elapsed time.
func SeedSelectors() []string {
	return []string{"MIN_LATENCY", "MEAN_LATENCY", "P50_LATENCY", "P90_LATENCY", "P99_LATENCY", "MAX_LATENCY", "THROUGHPUT"}
}

// ParseSeed is Parse for output of the seed's selectors (SeedSelectors), so
// that its old files are held to what the seed asked for: those columns are
// required. Without THROUGHPUT_UNITS the rate's unit is unchecked; the
// banner's test type is what tells a request/response test.
func ParseSeed(r io.Reader) (Result, error) {
	return parse(r, SeedSelectors())
}

func parse(r io.Reader, required []string) (Result, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return Result{}, fmt.Errorf("netperf result: %w", err)
	}
	res, err := parseText(string(b), required)
	if err != nil {
		return Result{}, fmt.Errorf("netperf result: %w", err)
	}
	return res, nil
}

// output is netperf's text split into what it is made of.
type output struct {
	banner string
	// header and values are the -o lines; kv the -k lines.
	header, values []string
	kv             map[string]string
	// said are lines before the result that are none of the above.
	said []string
}

func parseText(text string, required []string) (Result, error) {
	if strings.TrimSpace(text) == "" {
		return Result{}, errors.New("empty input")
	}
	o, err := split(strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n"))
	if err != nil {
		return Result{}, err
	}
	if len(o.said) > 0 {
		return Result{}, o.saidError()
	}
	var res Result
	if err := res.setTest(o.banner); err != nil {
		return Result{}, err
	}
	var vals map[string]string
	switch {
	case o.kv != nil:
		vals = o.kv
	case o.header == nil:
		return Result{}, errors.New("truncated: no -o header line and no -k SELECTOR=value line")
	case o.values == nil:
		return Result{}, errors.New("truncated: a header line without values")
	case len(o.values) != len(o.header):
		return Result{}, fmt.Errorf("truncated or malformed: %d values for %d columns", len(o.values), len(o.header))
	default:
		if vals, err = bySelector(o.header, o.values); err != nil {
			return Result{}, err
		}
	}
	if err := res.fill(vals, required); err != nil {
		return Result{}, err
	}
	return res, nil
}

// split sorts the lines: the banner, then either an -o header and its values
// line or -k lines; anything else before them is "said", anything after them
// an error.
func split(lines []string) (output, error) {
	var o output
	for _, raw := range lines {
		line := strings.TrimSpace(raw)
		done := o.values != nil
		switch m := keyval.FindStringSubmatch(line); {
		case line == "":
		case o.kv != nil && m != nil:
			if _, dup := o.kv[m[1]]; dup {
				return o, fmt.Errorf("%s twice (two results?)", m[1])
			}
			o.kv[m[1]] = strings.TrimSpace(m[2])
		case done || o.kv != nil:
			return o, fmt.Errorf("text after the result: %q", trim(line))
		case o.header != nil:
			v, err := splitCSV(line)
			if err != nil {
				return o, fmt.Errorf("values line: %w", err)
			}
			o.values = v
		case strings.Contains(line, " TEST from ") && o.banner == "":
			o.banner = line
		case m != nil:
			o.kv = map[string]string{m[1]: strings.TrimSpace(m[2])}
		case isHeader(line):
			h, err := splitCSV(line)
			if err != nil {
				return o, fmt.Errorf("header line: %w", err)
			}
			o.header = h
		default:
			o.said = append(o.said, line)
		}
		if len(o.said) > 0 && (o.header != nil || o.kv != nil) {
			// A result after other text: that text is what netperf said.
			return o, nil
		}
	}
	return o, nil
}

// saidError quotes what netperf said instead of a result, and names the
// outputs this package knows but cannot take.
func (o output) saidError() error {
	first := o.said[0]
	switch {
	case strings.HasPrefix(first, "Local /Remote") || strings.HasPrefix(first, "Socket Size"):
		return fmt.Errorf("classic netperf output (no -o or -k selectors) has no latency percentiles: run netperf with -- -o %s",
			strings.Join(needed, ","))
	case isValues(first):
		return fmt.Errorf("values without a header line (-P 0 drops it): the columns are unknown; use -o without -P 0, or -k")
	case isHumanTable(o.said):
		return errors.New("netperf -O (human-readable) output: its columns are not machine-readable; use -o or -k")
	}
	if len(o.said) > maxSaid {
		return fmt.Errorf("netperf said %q (and %d more lines)", strings.Join(o.said[:maxSaid], "\n"), len(o.said)-maxSaid)
	}
	return fmt.Errorf("netperf said %q", strings.Join(o.said, "\n"))
}

// isHumanTable reports whether lines start like -O output: column names
// broken over lines of space-separated words ("50th", "Percentile",
// "Latency", "Microseconds").
func isHumanTable(lines []string) bool {
	for _, l := range lines[:min(4, len(lines))] {
		if strings.Contains(l, ",") {
			return false
		}
		for _, w := range strings.Fields(l) {
			if w == "Percentile" || w == "Latency" || w == "Microseconds" || w == "Throughput" {
				return true
			}
		}
	}
	return false
}

// setTest sets the test the banner names; a stream test is refused, for its
// THROUGHPUT is a bit rate, not transactions.
func (res *Result) setTest(banner string) error {
	if banner == "" {
		return nil
	}
	for prefix, typ := range banners {
		if strings.HasPrefix(banner, prefix+" from ") {
			res.Test = typ
			return nil
		}
	}
	name, _, _ := strings.Cut(banner, " from ")
	if strings.Contains(name, "STREAM") || strings.Contains(name, "MAERTS") {
		return fmt.Errorf("%q is a stream test, not request/response", name)
	}
	return nil
}

// isHeader reports whether line is an -o header: it has a field that is
// one of the headers of this package's selectors.
func isHeader(line string) bool {
	fields, err := splitCSV(line)
	if err != nil {
		return false
	}
	for _, f := range fields {
		if _, ok := selectorOf(f); ok {
			return true
		}
	}
	return false
}

// isValues reports whether line is a CSV line of numbers only.
func isValues(line string) bool {
	fields, err := splitCSV(line)
	if err != nil || len(fields) < 2 {
		return false
	}
	for _, f := range fields {
		if _, err := strconv.ParseFloat(strings.TrimSpace(f), 64); err != nil {
			return false
		}
	}
	return true
}

func selectorOf(header string) (string, bool) {
	for _, c := range columns {
		if header == c.header {
			return c.selector, true
		}
	}
	return "", false
}

func headerOf(selector string) string {
	for _, c := range columns {
		if selector == c.selector {
			return c.header
		}
	}
	return ""
}

func splitCSV(line string) ([]string, error) {
	cr := csv.NewReader(strings.NewReader(line))
	cr.TrimLeadingSpace = true
	return cr.Read()
}

// bySelector maps the -o values to the selectors of their known headers.
func bySelector(header, values []string) (map[string]string, error) {
	vals := make(map[string]string, len(header))
	for i, h := range header {
		sel, ok := selectorOf(strings.TrimSpace(h))
		if !ok {
			continue
		}
		if _, dup := vals[sel]; dup {
			return nil, fmt.Errorf("column %q twice", h)
		}
		vals[sel] = strings.TrimSpace(values[i])
	}
	return vals, nil
}

// fill sets res from the values by selector: every required selector must
// be there; the others are checked where present.
func (res *Result) fill(vals map[string]string, required []string) error {
	for _, sel := range required {
		if _, ok := vals[sel]; !ok {
			return fmt.Errorf("no %s column (%q): a result needs %s", sel, headerOf(sel), strings.Join(required, ", "))
		}
	}
	num := make(map[string]float64, len(columns))
	for _, c := range columns {
		v, ok := vals[c.selector]
		if !ok {
			res.Absent = append(res.Absent, c.selector)
			continue
		}
		if c.selector == "THROUGHPUT_UNITS" {
			if v != "Trans/s" {
				return fmt.Errorf("throughput in %q, want Trans/s (not a request/response test?)", v)
			}
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%s (%q) is %q, not a number", c.selector, c.header, v)
		}
		num[c.selector] = f
	}
	if num["THROUGHPUT"] <= 0 {
		return fmt.Errorf("%v Trans/s: a run without transactions is not a sample", num["THROUGHPUT"])
	}
	if err := res.setLatency(num); err != nil {
		return err
	}
	res.TransactionsPerSecond = num["THROUGHPUT"]
	var err error
	if res.LocalRetransmits, err = retransmits("LOCAL_TRANSPORT_RETRANS", num); err != nil {
		return err
	}
	if res.RemoteRetransmits, err = retransmits("REMOTE_TRANSPORT_RETRANS", num); err != nil {
		return err
	}
	if res.RequestSize, err = count("REQUEST_SIZE", num); err != nil {
		return err
	}
	if res.ResponseSize, err = count("RESPONSE_SIZE", num); err != nil {
		return err
	}
	if e, ok := num["ELAPSED_TIME"]; ok {
		if e <= 0 || e > maxElapsed.Seconds() {
			return fmt.Errorf("ELAPSED_TIME is %v seconds", e)
		}
		res.Elapsed = time.Duration(math.Round(e * float64(time.Second)))
	}
	return nil
}

// maxElapsed bounds a run's length: far beyond any real run, well inside
// time.Duration.
const maxElapsed = 1000 * 24 * time.Hour

// setLatency checks the latency columns present: netperf writes -1 where
// it did not measure, and its percentiles, from one histogram, never
// decrease.
func (res *Result) setLatency(num map[string]float64) error {
	for _, c := range columns {
		if v, ok := num[c.selector]; ok && strings.HasSuffix(c.selector, "_LATENCY") && v < 0 {
			return fmt.Errorf("%s is %v: netperf did not measure latency", c.selector, v)
		}
	}
	if m, ok := num["MEAN_LATENCY"]; ok && m == 0 {
		return errors.New("MEAN_LATENCY is 0: netperf did not measure latency")
	}
	order := []string{"P50_LATENCY", "P90_LATENCY", "P99_LATENCY"}
	for i := 1; i < len(order); i++ {
		lo, okLo := num[order[i-1]]
		hi, okHi := num[order[i]]
		if okLo && okHi && lo > hi {
			return fmt.Errorf("%s %v is above %s %v: not one run's percentiles", order[i-1], lo, order[i], hi)
		}
	}
	res.Latency = Latency{Min: num["MIN_LATENCY"], Mean: num["MEAN_LATENCY"], P50: num["P50_LATENCY"], P90: num["P90_LATENCY"],
		P99: num["P99_LATENCY"], Max: num["MAX_LATENCY"], StdDev: num["STDDEV_LATENCY"]}
	return nil
}

// retransmits is nil for netperf's -1 (not measured) or a column not asked
// for, else the count.
func retransmits(sel string, num map[string]float64) (*int64, error) {
	v, ok := num[sel]
	if !ok || v == -1 {
		return nil, nil
	}
	if v < 0 || v != math.Trunc(v) || v > 1<<53 {
		return nil, fmt.Errorf("%s is %v, not a count", sel, v)
	}
	n := int64(v)
	return &n, nil
}

// count is a positive whole number of bytes; 0 for a column not asked for.
func count(sel string, num map[string]float64) (int, error) {
	v, ok := num[sel]
	if !ok {
		return 0, nil
	}
	if v <= 0 || v != math.Trunc(v) || v > math.MaxInt32 {
		return 0, fmt.Errorf("%s is %v, not a positive whole number", sel, v)
	}
	return int(v), nil
}

// trim shortens a quoted line.
func trim(s string) string {
	const n = 120
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
