package cli

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	goldenfile "kube-netbench/internal/golden"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/cli")

var (
	testdata  = filepath.Join("..", "..", "testdata")
	goldenDir = filepath.Join(testdata, "cli")
)

// golden compares got with the golden file name (goldenfile.Check).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, filepath.Join(goldenDir, name), got, *update)
}

// run runs the command line with stdin and returns its exit code and output.
func run(stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = Run(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func captureFile(tool, name string) string { return filepath.Join(testdata, tool, name) }

// TestParseGolden prints the normalized JSON of every good capture.
func TestParseGolden(t *testing.T) {
	cases := map[string][]string{
		"fortio":  {"keepalive.json", "short-conn.json", "qps1000-r10us.json", "qps1000-r1ms.json", "tcp-echo.json", "http-503.json", "closed-port.json"},
		"iperf3":  {"single.json", "streams8.json", "reverse.json"},
		"netperf": {"tcp-rr.txt", "tcp-crr.txt"},
	}
	for tool, names := range cases {
		for _, name := range names {
			t.Run(tool+"/"+name, func(t *testing.T) {
				code, stdout, stderr := run("", "parse", tool, captureFile(tool, name))
				require.Empty(t, stderr)
				require.Equal(t, 0, code)
				golden(t, "parse-"+tool+"-"+strings.TrimSuffix(name, filepath.Ext(name))+".json", []byte(stdout))

				// The same capture on standard input prints the same.
				in, err := os.ReadFile(captureFile(tool, name))
				require.NoError(t, err)
				code, fromStdin, stderr := run(string(in), "parse", tool, "-")
				require.Empty(t, stderr)
				require.Equal(t, 0, code)
				require.Equal(t, stdout, fromStdin)
			})
		}
	}
}

func TestParseErrors(t *testing.T) {
	keepalive, err := os.ReadFile(captureFile("fortio", "keepalive.json"))
	require.NoError(t, err)
	cases := []struct {
		name   string
		args   []string
		stdin  string
		stderr string // all of stderr, but its newline
	}{
		{"iperf3 error field", []string{"iperf3", captureFile("iperf3", "closed-port.json")}, "",
			"netbench parse iperf3 ../../testdata/iperf3/closed-port.json: iperf3 result: iperf3 reported an error: " +
				`"unable to connect to server: Connection refused"`},
		{"iperf3 truncated", []string{"iperf3", captureFile("iperf3", "truncated.json")}, "",
			"netbench parse iperf3 ../../testdata/iperf3/truncated.json: iperf3 result: truncated JSON: the input ends at byte 2243 inside the object"},
		{"netperf without netserver", []string{"netperf", captureFile("netperf", "no-netserver.txt")}, "",
			"netbench parse netperf ../../testdata/netperf/no-netserver.txt: netperf result: netperf said " +
				`"establish control: are you sure there is a netserver listening on 127.0.0.1 at port 25869?\n` +
				`establish_control could not establish the control connection from 0.0.0.0 port 0 address family AF_UNSPEC ` +
				`to 127.0.0.1 port 25869 address family AF_INET"`},
		{"netperf truncated", []string{"netperf", captureFile("netperf", "truncated.txt")}, "",
			"netbench parse netperf ../../testdata/netperf/truncated.txt: netperf result: truncated or malformed: 8 values for 14 columns"},
		{"fortio truncated on stdin", []string{"fortio", "-"}, string(keepalive[:len(keepalive)/2]),
			fmt.Sprintf("netbench parse fortio standard input: fortio result: truncated JSON: the input ends at byte %d inside the object", len(keepalive)/2)},
		{"empty stdin", []string{"netperf", "-"}, "", "netbench parse netperf standard input: netperf result: empty input"},
		{"an iperf3 result given to fortio", []string{"fortio", captureFile("iperf3", "single.json")}, "",
			"netbench parse fortio ../../testdata/iperf3/single.json: fortio result: no DurationHistogram (not a fortio load result?)"},
		{"a netperf result given to iperf3", []string{"iperf3", captureFile("netperf", "tcp-rr.txt")}, "",
			"netbench parse iperf3 ../../testdata/netperf/tcp-rr.txt: iperf3 result: invalid JSON at byte 1: invalid character 'M' looking for beginning of value"},
		{"a fortio result given to netperf", []string{"netperf", captureFile("fortio", "tcp-echo.json")}, "",
			"netbench parse netperf ../../testdata/fortio/tcp-echo.json: netperf result: netperf said " +
				`"{\n\"RunType\": \"TCP\",\n\"Labels\": \"tcp://127.0.0.1:18078 , vm\"," (and 288 more lines)`},
		{"no such file", []string{"iperf3", "no-such-file.json"}, "",
			"netbench parse iperf3: open no-such-file.json: no such file or directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(tc.stdin, append([]string{"parse"}, tc.args...)...)
			require.Equal(t, 1, code)
			require.Empty(t, stdout)
			require.Equal(t, tc.stderr+"\n", stderr)
		})
	}
}

// TestUsage: a command line netbench does not know prints the usage and exits 2.
func TestUsage(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		prefix string // stderr's text before the usage
	}{
		{name: "nothing"},
		{name: "unknown command", args: []string{"bench"}},
		{name: "lab without a subcommand", args: []string{"lab"}},
		{name: "parse without a tool", args: []string{"parse"}},
		{name: "parse without a file", args: []string{"parse", "iperf3"}},
		{name: "parse with two files", args: []string{"parse", "iperf3", "a.json", "b.json"}},
		{name: "unknown tool", args: []string{"parse", "wrk", "out.txt"}, prefix: "netbench parse: unknown tool \"wrk\"\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run("", tc.args...)
			require.Equal(t, 2, code)
			require.Empty(t, stdout)
			require.Equal(t, tc.prefix+usage, stderr)
		})
	}
	require.Contains(t, usage, "  parse TOOL FILE\n")
	for tool := range parsers {
		require.Contains(t, usage, tool+" (", "usage names %s", tool)
	}
}

// TestParseVariants: real outputs the suite does not produce itself (see
// their .provenance.md) are read, or refused with the file and the problem
// named.
func TestParseVariants(t *testing.T) {
	cases := []struct {
		tool, file string
		// err is "" for an output that parses, else a fragment of the
		// message after the file's name.
		err string
	}{
		{"netperf", "pcts-only.txt", ""},
		{"netperf", "reordered.txt", ""},
		{"netperf", "keyval.txt", ""},
		{"netperf", "keyval-no-banner.txt", ""},
		{"netperf", "udp-rr.txt", ""},
		{"netperf", "seed-tcp-rr.txt", ""},
		{"netperf", "no-percentiles.txt", "netperf result: no P50_LATENCY column"},
		{"netperf", "classic.txt", "netperf result: classic netperf output (no -o or -k selectors) has no latency percentiles"},
		{"netperf", "human.txt", "netperf result: netperf -O (human-readable) output"},
		{"netperf", "no-header.txt", "netperf result: values without a header line"},
		{"netperf", "stream.txt", "netperf result: \"MIGRATED TCP STREAM TEST\" is a stream test, not request/response"},
		// netperf stopped by SIGINT prints a normal result of the time it ran:
		// nothing in the file tells it apart (see its provenance).
		{"netperf", "interrupted.txt", ""},
		{"fortio", "v1.38-keepalive.json", ""},
		{"fortio", "v1.38-http-503.json", ""},
		{"fortio", "rest-run.json", ""},
		{"fortio", "rest-async.json", "fortio result: the REST API's reply to an async run, not a result"},
		{"fortio", "rest-error.json", "fortio result: fortio reported an error: Aborting because of error"},
		{"fortio", "interrupted.json", "fortio result: cut short (interrupted or aborted): ran "},
		{"iperf3", "udp.json", ""},
		{"iperf3", "no-intervals.json", ""},
		{"iperf3", "reverse-streams4.json", ""},
		{"iperf3", "interrupted.json", `iperf3 result: iperf3 reported an error: "interrupt - the client has terminated"`},
	}
	for _, tc := range cases {
		t.Run(tc.tool+"/"+tc.file, func(t *testing.T) {
			path := captureFile(tc.tool, tc.file)
			code, stdout, stderr := run("", "parse", tc.tool, path)
			if tc.err == "" {
				require.Empty(t, stderr)
				require.Equal(t, 0, code)
				require.True(t, strings.HasPrefix(stdout, "{\n"), stdout)
				return
			}
			require.Equal(t, 1, code)
			require.Empty(t, stdout)
			require.True(t, strings.HasPrefix(stderr, "netbench parse "+tc.tool+" "+path+": "), "the file is named: %s", stderr)
			require.Contains(t, stderr, tc.err)
		})
	}
}
