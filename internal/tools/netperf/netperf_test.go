package netperf

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"kube-netbench/internal/golden"
)

// capture reads a real netperf output from testdata/netperf (see the
// .provenance.md next to each file).
func capture(t *testing.T, name string) []byte {
	t.Helper()
	return golden.Testdata(t, "netperf", name+".txt")
}

// doc is an independent decoding of a capture: its three lines, and the
// header and values split at commas (the captures quote nothing).
type doc struct {
	banner         string
	header, values []string
}

func decodeDoc(t *testing.T, b []byte) doc {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	require.Len(t, lines, 3)
	d := doc{banner: lines[0], header: strings.Split(lines[1], ","), values: strings.Split(lines[2], ",")}
	require.Len(t, d.values, len(d.header))
	return d
}

func (d doc) String() string {
	return d.banner + "\n" + strings.Join(d.header, ",") + "\n" + strings.Join(d.values, ",") + "\n"
}

// value returns the value under header.
func (d doc) value(t *testing.T, header string) string {
	t.Helper()
	i := slices.Index(d.header, header)
	require.GreaterOrEqual(t, i, 0, "no column %q", header)
	return d.values[i]
}

func (d doc) float(t *testing.T, header string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(d.value(t, header), 64)
	require.NoError(t, err)
	return f
}

// edit returns the tcp-rr capture with a change applied to its columns.
func edit(t *testing.T, change func(d *doc)) string {
	t.Helper()
	d := decodeDoc(t, capture(t, "tcp-rr"))
	change(&d)
	return d.String()
}

// set replaces the value under header.
func (d *doc) set(header, v string) {
	d.values[slices.Index(d.header, header)] = v
}

// captured are the Tests capture.sh ran.
var captured = []struct {
	name string
	test Test
}{
	{"tcp-rr", Test{Type: TCPRR, Host: "127.0.0.1", Port: 25865, Duration: 3 * time.Second}},
	{"tcp-crr", Test{Type: TCPCRR, Host: "127.0.0.1", Port: 25865, Duration: 3 * time.Second}},
	{"tcp-crr-data-port", Test{Type: TCPCRR, Host: "127.0.0.1", Port: 25865, Duration: 2 * time.Second, DataPort: 25866}},
}

// TestParseCaptured parses every good capture and checks each field
// against the file.
func TestParseCaptured(t *testing.T) {
	for _, tc := range captured {
		t.Run(tc.name, func(t *testing.T) {
			b := capture(t, tc.name)
			res, err := Parse(bytes.NewReader(b))
			require.NoError(t, err)
			d := decodeDoc(t, b)

			require.Equal(t, tc.test.Type, res.Test)
			require.Equal(t, Latency{
				Min: d.float(t, "Minimum Latency Microseconds"), Mean: d.float(t, "Mean Latency Microseconds"),
				P50: d.float(t, "50th Percentile Latency Microseconds"), P90: d.float(t, "90th Percentile Latency Microseconds"),
				P99: d.float(t, "99th Percentile Latency Microseconds"), Max: d.float(t, "Maximum Latency Microseconds"),
				StdDev: d.float(t, "Stddev Latency Microseconds"),
			}, res.Latency)
			l := res.Latency
			require.True(t, 0 < l.Min && l.Min <= l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.Max, "%+v", l)
			require.Equal(t, "Trans/s", d.value(t, "Throughput Units"))
			require.Equal(t, d.float(t, "Throughput"), res.TransactionsPerSecond)
			require.InDelta(t, 1e6/l.Mean, res.TransactionsPerSecond, 0.05*res.TransactionsPerSecond,
				"one transaction in flight: rate = 1 / mean latency")
			require.Equal(t, 1, res.RequestSize)
			require.Equal(t, 1, res.ResponseSize)
			require.Equal(t, tc.test.Duration, res.Elapsed)
			for _, r := range []struct {
				header string
				got    *int64
			}{{"Local Transport Retransmissions", res.LocalRetransmits}, {"Remote Transport Retransmissions", res.RemoteRetransmits}} {
				if d.value(t, r.header) == "-1" {
					require.Nil(t, r.got, "%s: -1 is not measured", r.header)
				} else {
					require.NotNil(t, r.got, r.header)
					require.Equal(t, d.float(t, r.header), float64(*r.got))
				}
			}
		})
	}
}

// TestCaptureFacts checks what the captures were made to show.
func TestCaptureFacts(t *testing.T) {
	parse := func(name string) Result {
		res, err := Parse(bytes.NewReader(capture(t, name)))
		require.NoError(t, err)
		return res
	}
	rr, crr := parse("tcp-rr"), parse("tcp-crr")
	require.Greater(t, crr.Latency.Mean, rr.Latency.Mean, "a new connection per transaction costs a handshake")
	require.Less(t, crr.TransactionsPerSecond, rr.TransactionsPerSecond)
	require.NotNil(t, rr.LocalRetransmits)
	require.Nil(t, crr.RemoteRetransmits, "netperf 2.7.0 does not count the remote's retransmissions in TCP_CRR")
}

// TestParseByName shows values are found by header, not by position: the
// columns of a capture in another order, with an extra quoted column,
// parse to the same result.
func TestParseByName(t *testing.T) {
	want, err := Parse(bytes.NewReader(capture(t, "tcp-rr")))
	require.NoError(t, err)
	shuffled := edit(t, func(d *doc) {
		slices.Reverse(d.header)
		slices.Reverse(d.values)
		d.header = append(d.header, "Command Line")
		d.values = append(d.values, ` "netperf -H 127.0.0.1 -- -r 1,1 -o MIN_LATENCY,MAX_LATENCY"`)
	})
	got, err := Parse(strings.NewReader(shuffled))
	require.NoError(t, err)
	require.Equal(t, want, got)

	noBanner := string(capture(t, "tcp-rr"))
	noBanner = noBanner[strings.IndexByte(noBanner, '\n')+1:]
	got, err = Parse(strings.NewReader(strings.ReplaceAll(noBanner, "\n", "\r\n")))
	require.NoError(t, err)
	want.Test = ""
	require.Equal(t, want, got, "no banner (and CRLF line ends): the same values, no test type")
}

func TestParseErrors(t *testing.T) {
	rr := string(capture(t, "tcp-rr"))
	banner := rr[:strings.IndexByte(rr, '\n')+1]
	headerOnly := rr[:strings.LastIndexByte(strings.TrimSuffix(rr, "\n"), '\n')+1]
	cases := []struct{ name, in, err string }{
		{"no netserver", string(capture(t, "no-netserver")),
			`netperf result: netperf said "establish control: are you sure there is a netserver listening on 127.0.0.1 at port 25869?\n` +
				`establish_control could not establish the control connection from 0.0.0.0 port 0 address family AF_UNSPEC to 127.0.0.1 port 25869 address family AF_INET"`},
		{"truncated capture", string(capture(t, "truncated")), "netperf result: truncated or malformed: 8 values for 14 columns"},
		{"empty", "", "netperf result: empty input"},
		{"whitespace", " \n", "netperf result: empty input"},
		{"banner only", banner, "netperf result: truncated: no -o header line and no -k SELECTOR=value line"},
		{"header without values", headerOnly, "netperf result: truncated: a header line without values"},
		{"two results", rr + rr, `netperf result: text after the result: "MIGRATED TCP REQUEST/RESPONSE TEST from `},
		{"text before the header", "catcher: timer popped with times_up != 0\n" + rr, `netperf result: netperf said "catcher: timer popped with times_up != 0"`},
		{"not netperf output", "{\n\"a\": 1,\n\"b\": 2,\n\"c\": 3\n}\n", `netperf result: netperf said "{\n\"a\": 1,\n\"b\": 2," (and 2 more lines)`},
		{"text after", rr + "netperf: send_omni: recv_data failed\n", `netperf result: text after the result: "netperf: send_omni: recv_data failed"`},
		{"a stream test's units", edit(t, func(d *doc) { d.set("Throughput Units", "10^6bits/s") }),
			`netperf result: throughput in "10^6bits/s", want Trans/s (not a request/response test?)`},
		{"missing column", edit(t, func(d *doc) {
			i := slices.Index(d.header, "99th Percentile Latency Microseconds")
			d.header, d.values = slices.Delete(d.header, i, i+1), slices.Delete(d.values, i, i+1)
		}), `netperf result: no P99_LATENCY column ("99th Percentile Latency Microseconds"): a result needs THROUGHPUT, P50_LATENCY, P90_LATENCY, P99_LATENCY`},
		{"percentiles out of order", edit(t, func(d *doc) { d.set("90th Percentile Latency Microseconds", "300") }),
			"netperf result: P90_LATENCY 300 is above P99_LATENCY 215: not one run's percentiles"},
		{"a column twice", edit(t, func(d *doc) {
			d.header, d.values = append(d.header, "Throughput"), append(d.values, "5")
		}), `netperf result: column "Throughput" twice`},
		{"not a number", edit(t, func(d *doc) { d.set("Mean Latency Microseconds", "abc") }),
			`netperf result: MEAN_LATENCY ("Mean Latency Microseconds") is "abc", not a number`},
		{"empty value", edit(t, func(d *doc) { d.set("Throughput", "") }),
			`netperf result: THROUGHPUT ("Throughput") is "", not a number`},
		{"NaN", edit(t, func(d *doc) { d.set("Throughput", "nan") }),
			`netperf result: THROUGHPUT ("Throughput") is "nan", not a number`},
		{"no transactions", edit(t, func(d *doc) { d.set("Throughput", "0.00") }),
			"netperf result: 0 Trans/s: a run without transactions is not a sample"},
		{"latency not measured", edit(t, func(d *doc) { d.set("99th Percentile Latency Microseconds", "-1") }),
			"netperf result: P99_LATENCY is -1: netperf did not measure latency"},
		{"zero mean latency", edit(t, func(d *doc) { d.set("Mean Latency Microseconds", "0") }),
			"netperf result: MEAN_LATENCY is 0: netperf did not measure latency"},
		{"fractional retransmissions", edit(t, func(d *doc) { d.set("Local Transport Retransmissions", "1.5") }),
			"netperf result: LOCAL_TRANSPORT_RETRANS is 1.5, not a count"},
		{"negative retransmissions", edit(t, func(d *doc) { d.set("Remote Transport Retransmissions", "-2") }),
			"netperf result: REMOTE_TRANSPORT_RETRANS is -2, not a count"},
		{"no request size", edit(t, func(d *doc) { d.set("Request Size Bytes", "0") }),
			"netperf result: REQUEST_SIZE is 0, not a positive whole number"},
		{"no elapsed time", edit(t, func(d *doc) { d.set("Elapsed Time (sec)", "0.00") }),
			"netperf result: ELAPSED_TIME is 0 seconds"},
		{"broken quote", edit(t, func(d *doc) { d.values[0] = `"15` }), "netperf result: values line: "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Parse(strings.NewReader(tc.in))
			require.ErrorContains(t, err, tc.err)
			require.Equal(t, Result{}, res)
		})
	}
}

// TestParseSeed reads the seed's seven columns (derived from the real
// captures, see seed-*.txt.provenance.md) to the values of the full
// captures, and the full captures to the same result as Parse.
func TestParseSeed(t *testing.T) {
	seedOnly := []string{"STDDEV_LATENCY", "THROUGHPUT_UNITS", "LOCAL_TRANSPORT_RETRANS", "REMOTE_TRANSPORT_RETRANS",
		"REQUEST_SIZE", "RESPONSE_SIZE", "ELAPSED_TIME"}
	for _, name := range []string{"tcp-rr", "tcp-crr"} {
		t.Run(name, func(t *testing.T) {
			full, err := Parse(bytes.NewReader(capture(t, name)))
			require.NoError(t, err)
			require.Empty(t, full.Absent)
			got, err := ParseSeed(bytes.NewReader(capture(t, "seed-"+name)))
			require.NoError(t, err)
			want := full
			want.Latency.StdDev, want.LocalRetransmits, want.RemoteRetransmits = 0, nil, nil
			want.RequestSize, want.ResponseSize, want.Elapsed = 0, 0, 0
			want.Absent = seedOnly
			require.Equal(t, want, got, "the seed's columns, nothing else, and the others named absent")
			again, err := Parse(bytes.NewReader(capture(t, "seed-"+name)))
			require.NoError(t, err)
			require.Equal(t, got, again, "Parse needs only Needed(): the seed's columns are enough")

			again, err = ParseSeed(bytes.NewReader(capture(t, name)))
			require.NoError(t, err)
			require.Equal(t, full, again, "columns beyond the seed's are read and checked too")
		})
	}
	seed := string(capture(t, "seed-tcp-rr"))
	for _, tc := range []struct{ name, in, err string }{
		{"missing P99", strings.Replace(seed, "99th Percentile Latency Microseconds", "99th", 1),
			`netperf result: no P99_LATENCY column ("99th Percentile Latency Microseconds")`},
		{"missing minimum", strings.Replace(seed, "Minimum Latency Microseconds", "Min", 1),
			`netperf result: no MIN_LATENCY column ("Minimum Latency Microseconds"): a result needs MIN_LATENCY, MEAN_LATENCY, P50_LATENCY, P90_LATENCY, P99_LATENCY, MAX_LATENCY, THROUGHPUT`},
		{"truncated", seed[:len(seed)-10], "netperf result: truncated or malformed: 6 values for 7 columns"},
		{"no transactions", strings.Replace(seed, ",10785.17", ",0", 1), "netperf result: 0 Trans/s"},
		{"a stream test's units", edit(t, func(d *doc) { d.set("Throughput Units", "10^6bits/s") }),
			`throughput in "10^6bits/s"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSeed(strings.NewReader(tc.in))
			require.ErrorContains(t, err, tc.err)
		})
	}
}

// TestArgvCaptured asserts the exact command lines of testdata/netperf/capture.sh.
func TestArgvCaptured(t *testing.T) {
	script, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "netperf", "capture.sh"))
	require.NoError(t, err)
	sel := strings.Join(Selectors(), ",")
	require.Contains(t, string(script), "\nSEL="+sel+"\n", "capture.sh asks for Selectors()")
	vars := strings.NewReplacer(`"`, "", "$HOST", "127.0.0.1", "$PORT", "25865", "$CLOSED", "25869", "$DATA", "25866", "$SEL", sel)
	// scriptArgv returns the words that follow prefix in the script, up to
	// the end of the line or a redirection.
	scriptArgv := func(prefix string) []string {
		i := bytes.Index(script, []byte(prefix))
		require.GreaterOrEqual(t, i, 0, "capture.sh has %q", prefix)
		line := string(script[i+len(prefix):])
		var words []string
		for _, w := range strings.Fields(vars.Replace(line[:strings.IndexByte(line, '\n')])) {
			if strings.HasPrefix(w, ">") || strings.HasPrefix(w, "2>") || w == "||" {
				break
			}
			words = append(words, w)
		}
		return words
	}
	const want = "-p 25865 -t %s -l 3 -- -r 1,1 -o MIN_LATENCY,MEAN_LATENCY,P50_LATENCY,P90_LATENCY,P99_LATENCY,MAX_LATENCY," +
		"STDDEV_LATENCY,THROUGHPUT,THROUGHPUT_UNITS,LOCAL_TRANSPORT_RETRANS,REMOTE_TRANSPORT_RETRANS,REQUEST_SIZE,RESPONSE_SIZE,ELAPSED_TIME"
	cases := []struct {
		name, prefix string
		argv         func() ([]string, error)
		want         string
	}{
		{"tcp-rr", "\nrun tcp-rr ", captured[0].test.Argv, "netperf -H 127.0.0.1 " + strings.Replace(want, "%s", "TCP_RR", 1)},
		{"tcp-crr", "\nrun tcp-crr ", captured[1].test.Argv, "netperf -H 127.0.0.1 " + strings.Replace(want, "%s", "TCP_CRR", 1)},
		{"tcp-crr-data-port", "\nrun tcp-crr-data-port ", captured[2].test.Argv,
			"netperf -H 127.0.0.1 " + strings.Replace(strings.Replace(want, "%s", "TCP_CRR", 1), "-l 3 -- -r 1,1", "-l 2 -- -r 1,1 -P ,25866", 1)},
		{"no-netserver", "rc=0\n\"$bin/netperf\" ", Test{Type: TCPRR, Host: "127.0.0.1", Port: 25869, Duration: 3 * time.Second}.Argv,
			"netperf -H 127.0.0.1 " + strings.Replace(strings.Replace(want, "%s", "TCP_RR", 1), "25865", "25869", 1)},
		{"server", "\n\"$bin/netserver\" ", Server{Port: 25865, Bind: "127.0.0.1"}.Argv, "netserver -D -p 25865 -L 127.0.0.1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			argv, err := tc.argv()
			require.NoError(t, err)
			require.Equal(t, strings.Fields(tc.want), argv)
			require.Equal(t, argv[1:], scriptArgv(tc.prefix), "capture.sh ran what Argv builds")
		})
	}
}

// TestTransactions: a TCP_CRR run's connections are its rate over its
// elapsed time.
func TestTransactions(t *testing.T) {
	res, err := Parse(bytes.NewReader(capture(t, "tcp-crr")))
	require.NoError(t, err)
	// 6126.44 Trans/s over 3.00 s.
	require.Equal(t, int64(18379), res.Transactions())
	require.Zero(t, Result{TransactionsPerSecond: 100}.Transactions(), "no elapsed time, no transactions")
}

func TestArgv(t *testing.T) {
	ok := Test{Type: TCPCRR, Host: "10.0.0.7", Port: 12865, Duration: time.Minute, RequestSize: 64, ResponseSize: 1024}
	with := func(f func(x *Test)) Test { x := ok; f(&x); return x }
	sel := strings.Join(Selectors(), ",")
	cases := []struct {
		name string
		argv func() ([]string, error)
		want string
		err  string
	}{
		{name: "sizes", argv: ok.Argv, want: "netperf -H 10.0.0.7 -p 12865 -t TCP_CRR -l 60 -- -r 64,1024 -o " + sel},
		{name: "default sizes are 1,1", argv: with(func(x *Test) { x.RequestSize, x.ResponseSize = 0, 0 }).Argv,
			want: "netperf -H 10.0.0.7 -p 12865 -t TCP_CRR -l 60 -- -r 1,1 -o " + sel},
		{name: "no type", argv: with(func(x *Test) { x.Type = "" }).Argv, err: `netperf: test type "" is not TCP_RR or TCP_CRR`},
		{name: "a stream test", argv: with(func(x *Test) { x.Type = "TCP_STREAM" }).Argv, err: `netperf: test type "TCP_STREAM" is not TCP_RR or TCP_CRR`},
		{name: "no host", argv: with(func(x *Test) { x.Host = "" }).Argv, err: "netperf: empty host"},
		{name: "no port", argv: with(func(x *Test) { x.Port = 0 }).Argv, err: "netperf: port 0 out of range 1-65535"},
		{name: "no duration", argv: with(func(x *Test) { x.Duration = 0 }).Argv, err: "netperf: duration 0s is not a positive whole number of seconds"},
		{name: "fractional duration", argv: with(func(x *Test) { x.Duration = 2500 * time.Millisecond }).Argv,
			err: "netperf: duration 2.5s is not a positive whole number of seconds"},
		{name: "negative size", argv: with(func(x *Test) { x.ResponseSize = -1 }).Argv, err: "netperf: negative request or response size 64,-1"},
		{name: "data port pinned", argv: with(func(x *Test) { x.DataPort = 12866 }).Argv,
			want: "netperf -H 10.0.0.7 -p 12865 -t TCP_CRR -l 60 -- -r 64,1024 -P ,12866 -o " + sel},
		{name: "data port out of range", argv: with(func(x *Test) { x.DataPort = -1 }).Argv, err: "netperf: data port -1 out of range 1-65535"},
		{name: "data port is the control port", argv: with(func(x *Test) { x.DataPort = 12865 }).Argv, err: "netperf: data port 12865 is the control port"},
		{name: "server", argv: Server{Port: 12865}.Argv, want: "netserver -D -p 12865"},
		{name: "server without port", argv: Server{Port: 70000}.Argv, err: "netserver: port 70000 out of range 1-65535"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			argv, err := tc.argv()
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				require.Nil(t, argv)
				return
			}
			require.NoError(t, err)
			require.Equal(t, strings.Fields(tc.want), argv)
		})
	}
	require.Equal(t, []string{"MIN_LATENCY", "MEAN_LATENCY", "P50_LATENCY", "P90_LATENCY", "P99_LATENCY", "MAX_LATENCY",
		"STDDEV_LATENCY", "THROUGHPUT", "THROUGHPUT_UNITS", "LOCAL_TRANSPORT_RETRANS", "REMOTE_TRANSPORT_RETRANS",
		"REQUEST_SIZE", "RESPONSE_SIZE", "ELAPSED_TIME"}, Selectors())
}

// TestParseVariants reads real outputs of other selector sets and forms
// (testdata/netperf/capture-variants.sh): the accepted ones to their
// numbers, the others to an error that names the problem.
func TestParseVariants(t *testing.T) {
	accepted := []struct {
		name          string
		test          Type
		p50, p90, p99 float64
		tps, min      float64
		absent        int // how many of Selectors() the output lacks
	}{
		{"pcts-only", TCPRR, 18, 20, 41, 49657.75, 0, 9},
		{"reordered", TCPRR, 18, 20, 39, 51082.98, 0, 10},
		{"keyval", TCPCRR, 58, 68, 152, 15728.22, 50, 8},
		{"keyval-no-banner", "", 19, 21, 44, 46817.15, 0, 10},
		{"udp-rr", "", 17, 18, 41, 53567.67, 0, 9},
		// SIGINT after 1 s of -l 3: netperf prints a normal result.
		{"interrupted", TCPRR, 18, 20, 52, 45480.30, 0, 10},
	}
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Parse(bytes.NewReader(capture(t, tc.name)))
			require.NoError(t, err)
			require.Equal(t, tc.test, res.Test)
			require.Equal(t, Latency{Min: tc.min, P50: tc.p50, P90: tc.p90, P99: tc.p99}, res.Latency)
			require.Equal(t, tc.tps, res.TransactionsPerSecond)
			require.Len(t, res.Absent, tc.absent, "%v", res.Absent)
			require.NotContains(t, res.Absent, "P50_LATENCY")
		})
	}
	rejected := []struct{ name, err string }{
		{"no-percentiles", `netperf result: no P50_LATENCY column ("50th Percentile Latency Microseconds"): a result needs THROUGHPUT, P50_LATENCY, P90_LATENCY, P99_LATENCY`},
		{"classic", "netperf result: classic netperf output (no -o or -k selectors) has no latency percentiles: run netperf with -- -o THROUGHPUT,P50_LATENCY,P90_LATENCY,P99_LATENCY"},
		{"human", "netperf result: netperf -O (human-readable) output: its columns are not machine-readable; use -o or -k"},
		{"no-header", "netperf result: values without a header line (-P 0 drops it): the columns are unknown; use -o without -P 0, or -k"},
		{"stream", `netperf result: "MIGRATED TCP STREAM TEST" is a stream test, not request/response`},
	}
	for _, tc := range rejected {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Parse(bytes.NewReader(capture(t, tc.name)))
			require.EqualError(t, err, tc.err)
			require.Equal(t, Result{}, res)
		})
	}
}
