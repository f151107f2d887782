package cli

import (
	"bytes"
	"flag"
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
			"netbench parse iperf3 ../../testdata/iperf3/truncated.json: iperf3 result: truncated JSON"},
		{"netperf without netserver", []string{"netperf", captureFile("netperf", "no-netserver.txt")}, "",
			"netbench parse netperf ../../testdata/netperf/no-netserver.txt: netperf result: netperf said " +
				`"establish control: are you sure there is a netserver listening on 127.0.0.1 at port 25869?\n` +
				`establish_control could not establish the control connection from 0.0.0.0 port 0 address family AF_UNSPEC ` +
				`to 127.0.0.1 port 25869 address family AF_INET"`},
		{"netperf truncated", []string{"netperf", captureFile("netperf", "truncated.txt")}, "",
			"netbench parse netperf ../../testdata/netperf/truncated.txt: netperf result: truncated or malformed: 8 values for 14 columns"},
		{"fortio truncated on stdin", []string{"fortio", "-"}, string(keepalive[:len(keepalive)/2]),
			"netbench parse fortio standard input: fortio result: truncated JSON"},
		{"empty stdin", []string{"netperf", "-"}, "", "netbench parse netperf standard input: netperf result: empty input"},
		{"an iperf3 result given to fortio", []string{"fortio", captureFile("iperf3", "single.json")}, "",
			"netbench parse fortio ../../testdata/iperf3/single.json: fortio result: no DurationHistogram (not a fortio load result?)"},
		{"a netperf result given to iperf3", []string{"iperf3", captureFile("netperf", "tcp-rr.txt")}, "",
			"netbench parse iperf3 ../../testdata/netperf/tcp-rr.txt: iperf3 result: invalid character 'M' looking for beginning of value"},
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
