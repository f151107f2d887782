package iperf3

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"kube-netbench/internal/golden"
)

// capture reads a real iperf3 output from testdata/iperf3 (see the
// .provenance.md next to each file).
func capture(t *testing.T, name string) []byte {
	t.Helper()
	return golden.Testdata(t, "iperf3", name+".json")
}

// doc is an independent, generic decoding of iperf3's JSON, to check Parse
// against what the file holds.
type doc map[string]any

func decodeDoc(t *testing.T, b []byte) doc {
	t.Helper()
	var d doc
	require.NoError(t, json.Unmarshal(b, &d))
	return d
}

// at walks the path of object keys down from d.
func (d doc) at(t *testing.T, path ...string) any {
	t.Helper()
	var v any = map[string]any(d)
	for _, k := range path {
		m, ok := v.(map[string]any)
		require.True(t, ok, "%v: %s is not in an object", path, k)
		v, ok = m[k]
		require.True(t, ok, "%v: no %s", path, k)
	}
	return v
}

// edit returns the capture with a change applied to its decoded JSON.
func edit(t *testing.T, name string, change func(d doc)) string {
	t.Helper()
	d := decodeDoc(t, capture(t, name))
	change(d)
	b, err := json.Marshal(d)
	require.NoError(t, err)
	return string(b)
}

// captured are the Client each capture of capture.sh ran, with the facts it
// was made to show.
var captured = []struct {
	name   string
	client Client
	argv   string
}{
	{"single", Client{Host: "127.0.0.1", Port: 25201, Duration: 3 * time.Second, Omit: time.Second, Streams: 1},
		"iperf3 -c 127.0.0.1 -p 25201 -t 3 -O 1 -P 1 -J"},
	{"streams8", Client{Host: "127.0.0.1", Port: 25201, Duration: 3 * time.Second, Omit: time.Second, Streams: 8},
		"iperf3 -c 127.0.0.1 -p 25201 -t 3 -O 1 -P 8 -J"},
	{"reverse", Client{Host: "127.0.0.1", Port: 25201, Duration: 3 * time.Second, Omit: time.Second, Streams: 1, Reverse: true},
		"iperf3 -c 127.0.0.1 -p 25201 -t 3 -O 1 -P 1 -J -R"},
}

// TestParseCaptured parses every good capture and checks each field against
// the file and against the Client that made it.
func TestParseCaptured(t *testing.T) {
	for _, tc := range captured {
		t.Run(tc.name, func(t *testing.T) {
			b := capture(t, tc.name)
			res, err := Parse(bytes.NewReader(b))
			require.NoError(t, err)
			d := decodeDoc(t, b)

			require.Equal(t, "iperf 3.12", res.Version)
			require.Equal(t, "127.0.0.1:25201", res.Target)
			require.Equal(t, "TCP", res.Protocol)
			require.Equal(t, tc.client.Streams, res.Streams)
			require.Equal(t, tc.client.Reverse, res.Reverse)
			require.Equal(t, tc.client.Duration, res.Duration)
			require.Equal(t, tc.client.Omit, res.Omit)
			require.Equal(t, d.at(t, "end", "sum_sent", "bits_per_second"), res.SenderBitsPerSecond)
			require.Equal(t, d.at(t, "end", "sum_received", "bits_per_second"), res.ReceiverBitsPerSecond)
			require.Equal(t, res.ReceiverBitsPerSecond, res.Throughput())
			require.Greater(t, res.Throughput(), 1e9, "loopback moves more than 1 Gbit/s")
			require.EqualValues(t, d.at(t, "end", "sum_sent", "retransmits"), res.Retransmits)
			require.Equal(t, d.at(t, "end", "cpu_utilization_percent", "host_total"), res.CPU.HostTotal)
			require.Equal(t, d.at(t, "end", "cpu_utilization_percent", "remote_total"), res.CPU.RemoteTotal)
			require.Greater(t, res.CPU.HostTotal, 0.0)
			require.Greater(t, res.CPU.RemoteTotal, 0.0)

			// One interval a second, the omitted first one left out.
			all := d.at(t, "intervals").([]any)
			require.Len(t, all, 4)
			require.Equal(t, true, doc(all[0].(map[string]any)).at(t, "sum", "omitted"))
			require.Len(t, res.Intervals, 3)
			for i, iv := range res.Intervals {
				sum := doc(all[i+1].(map[string]any))
				require.Equal(t, false, sum.at(t, "sum", "omitted"))
				require.Equal(t, sum.at(t, "sum", "bits_per_second"), iv.BitsPerSecond)
				require.Equal(t, seconds(sum.at(t, "sum", "start").(float64)), iv.Start)
				require.Equal(t, seconds(sum.at(t, "sum", "end").(float64)), iv.End)
				require.Less(t, iv.Start, iv.End)
				require.Greater(t, iv.BitsPerSecond, 0.0)
			}
			require.Less(t, res.Intervals[0].Start, time.Millisecond, "intervals count from the end of the omitted warm-up")
			require.InDelta(t, 3.0, res.Intervals[2].End.Seconds(), 0.1)

			// One connection per stream, with the addresses that carried it.
			require.Len(t, res.Connected, tc.client.Streams)
			for _, c := range res.Connected {
				require.Equal(t, "127.0.0.1", c.LocalHost)
				require.Equal(t, "127.0.0.1", c.RemoteHost)
				require.Equal(t, 25201, c.RemotePort)
				require.Greater(t, c.LocalPort, 0)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	single := capture(t, "single")
	cases := []struct{ name, in, err string }{
		{"closed port", string(capture(t, "closed-port")),
			`iperf3 result: iperf3 reported an error: "unable to connect to server: Connection refused"`},
		{"truncated capture", string(capture(t, "truncated")), "iperf3 result: truncated JSON: the input ends at byte 2243 inside the object"},
		{"empty", "", "iperf3 result: empty input"},
		{"whitespace", " \n", "iperf3 result: empty input"},
		{"truncated after the brace", "{", "iperf3 result: truncated JSON"},
		{"two results", string(single) + string(single), fmt.Sprintf("iperf3 result: data after the JSON value, which ends at byte %d", len(bytes.TrimSpace(single)))},
		{"text after", string(single) + "\niperf Done.\n", fmt.Sprintf("iperf3 result: data after the JSON value, which ends at byte %d", len(bytes.TrimSpace(single)))},
		{"text before", "Connecting to host 127.0.0.1, port 25201\n" + string(single), "iperf3 result: invalid JSON at byte 1: invalid character 'C'"},
		{"not an iperf3 result", `{"a": 1}`, "iperf3 result: no start.test_start (not an iperf3 -J result?)"},
		{"a number where an object is", `{"end": 5}`, "iperf3 result: json: cannot unmarshal number"},
		{"error next to a complete result", edit(t, "single", func(d doc) { d["error"] = "interrupt - the server has terminated" }),
			`iperf3 result: iperf3 reported an error: "interrupt - the server has terminated"`},
		{"empty end section", edit(t, "single", func(d doc) { d["end"] = map[string]any{} }),
			"iperf3 result: no end.sum_sent or end.sum_received (the test did not finish?)"},
		{"no end section", edit(t, "single", func(d doc) { delete(d, "end") }),
			"iperf3 result: no end.sum_sent or end.sum_received (the test did not finish?)"},
		{"no CPU", edit(t, "single", func(d doc) { delete(d.at(t, "end").(map[string]any), "cpu_utilization_percent") }),
			"iperf3 result: no end.cpu_utilization_percent"},
		{"0 bits/s received", edit(t, "single", func(d doc) { d.at(t, "end", "sum_received").(map[string]any)["bits_per_second"] = 0 }),
			"iperf3 result: 0 bits/s received, "},
		{"0 bits/s sent", edit(t, "single", func(d doc) { d.at(t, "end", "sum_sent").(map[string]any)["bits_per_second"] = 0 }),
			" bits/s received, 0 sent: a run that moved no data is not a sample"},
		{"no streams", edit(t, "single", func(d doc) { d.at(t, "start", "test_start").(map[string]any)["num_streams"] = 0 }),
			"iperf3 result: start.test_start: 0 streams, -t 3, -O 1: not a run"},
		{"negative retransmits", edit(t, "single", func(d doc) { d.at(t, "end", "sum_sent").(map[string]any)["retransmits"] = -3 }),
			"iperf3 result: end.sum_sent: "},
		{"an interval ending before it starts", edit(t, "single", func(d doc) {
			d.at(t, "intervals").([]any)[2].(map[string]any)["sum"].(map[string]any)["end"] = 0.5
		}), "iperf3 result: an interval: "},
		{"negative CPU", edit(t, "single", func(d doc) { d.at(t, "end", "cpu_utilization_percent").(map[string]any)["host_total"] = -1 }),
			"iperf3 result: CPU -1% on the client"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Parse(strings.NewReader(tc.in))
			require.ErrorContains(t, err, tc.err)
			require.Equal(t, Result{}, res)
		})
	}
}

// TestArgvCaptured asserts the exact command lines of testdata/iperf3/capture.sh.
func TestArgvCaptured(t *testing.T) {
	script, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "iperf3", "capture.sh"))
	require.NoError(t, err)
	vars := strings.NewReplacer(`"`, "", "$HOST", "127.0.0.1", "$PORT", "25201", "$CLOSED", "25209")
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
	cases := []struct {
		name, prefix string
		argv         func() ([]string, error)
		want         string
	}{
		{"closed-port", "rc=0\n\"$I\" ", Client{Host: "127.0.0.1", Port: 25209, Duration: 3 * time.Second, Omit: time.Second, Streams: 1}.Argv,
			"iperf3 -c 127.0.0.1 -p 25209 -t 3 -O 1 -P 1 -J"},
		{"server", "\n\"$I\" ", Server{Port: 25201, Bind: "127.0.0.1"}.Argv, "iperf3 -s -p 25201 -B 127.0.0.1"},
	}
	for _, c := range captured {
		cases = append(cases, struct {
			name, prefix string
			argv         func() ([]string, error)
			want         string
		}{c.name, "\nrun " + c.name + " ", c.client.Argv, c.argv})
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

func TestArgv(t *testing.T) {
	ok := Client{Host: "10.0.0.7", Port: 5201, Duration: 30 * time.Second, Omit: 2 * time.Second, Streams: 16}
	with := func(f func(c *Client)) Client { c := ok; f(&c); return c }
	cases := []struct {
		name string
		argv func() ([]string, error)
		want string
		err  string
	}{
		{name: "client", argv: ok.Argv, want: "iperf3 -c 10.0.0.7 -p 5201 -t 30 -O 2 -P 16 -J"},
		{name: "client without omit, reverse", argv: with(func(c *Client) { c.Omit = 0; c.Reverse = true }).Argv,
			want: "iperf3 -c 10.0.0.7 -p 5201 -t 30 -O 0 -P 16 -J -R"},
		{name: "IPv6 host", argv: with(func(c *Client) { c.Host = "fd00::7" }).Argv, want: "iperf3 -c fd00::7 -p 5201 -t 30 -O 2 -P 16 -J"},
		{name: "no host", argv: with(func(c *Client) { c.Host = "" }).Argv, err: "iperf3 client: empty host"},
		{name: "no port", argv: with(func(c *Client) { c.Port = 0 }).Argv, err: "iperf3 client: port 0 out of range 1-65535"},
		{name: "port too large", argv: with(func(c *Client) { c.Port = 65536 }).Argv, err: "iperf3 client: port 65536 out of range 1-65535"},
		{name: "no streams", argv: with(func(c *Client) { c.Streams = 0 }).Argv, err: "iperf3 client: streams 0 must be positive"},
		{name: "no duration", argv: with(func(c *Client) { c.Duration = 0 }).Argv, err: "iperf3 client: duration must be positive"},
		{name: "fractional duration", argv: with(func(c *Client) { c.Duration = 1500 * time.Millisecond }).Argv,
			err: "iperf3 client: duration 1.5s is not a whole number of seconds"},
		{name: "negative omit", argv: with(func(c *Client) { c.Omit = -time.Second }).Argv, err: "iperf3 client: omit -1s is not a whole number of seconds"},
		{name: "server", argv: Server{Port: 5201}.Argv, want: "iperf3 -s -p 5201"},
		{name: "one-off server", argv: Server{Port: 5202, OneOff: true}.Argv, want: "iperf3 -s -p 5202 -1"},
		{name: "bound one-off server", argv: Server{Port: 5202, Bind: "10.0.0.7", OneOff: true}.Argv, want: "iperf3 -s -p 5202 -B 10.0.0.7 -1"},
		{name: "server without port", argv: Server{}.Argv, err: "iperf3 server: port 0 out of range 1-65535"},
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
}

// TestParseVariants reads real outputs the suite does not ask for
// (testdata/iperf3/capture-variants.sh): the accepted ones to their
// numbers, the interrupted one to its error.
func TestParseVariants(t *testing.T) {
	accepted := []struct {
		name               string
		protocol           string
		streams            int
		reverse            bool
		omit               time.Duration
		sent, received     float64
		intervals          int
		udpJitterMs, udpLo float64
	}{
		{"udp", "UDP", 1, false, 0, 100001635.8969385, 99991787.3263468, 2, 0.458555104318809, 0},
		{"no-intervals", "TCP", 1, false, 0, 18371563722.3415, 18363550096.233215, 1, 0, 0},
		{"reverse-streams4", "TCP", 4, true, time.Second, 17676267842.956516, 17780720282.97524, 2, 0, 0},
	}
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Parse(bytes.NewReader(capture(t, tc.name)))
			require.NoError(t, err)
			require.Equal(t, tc.protocol, res.Protocol)
			require.Equal(t, tc.streams, res.Streams)
			require.Equal(t, tc.reverse, res.Reverse)
			require.Equal(t, 2*time.Second, res.Duration)
			require.Equal(t, tc.omit, res.Omit)
			require.Equal(t, tc.sent, res.SenderBitsPerSecond)
			require.Equal(t, tc.received, res.Throughput())
			require.Len(t, res.Intervals, tc.intervals, "omitted intervals left out")
			require.Len(t, res.Connected, tc.streams)
			if tc.protocol == "UDP" {
				require.Equal(t, &UDP{JitterMs: tc.udpJitterMs, LostPercent: tc.udpLo, Packets: res.UDP.Packets}, res.UDP)
				require.Positive(t, res.UDP.Packets)
			} else {
				require.Nil(t, res.UDP)
			}
		})
	}
	res, err := Parse(bytes.NewReader(capture(t, "interrupted")))
	require.EqualError(t, err, `iperf3 result: iperf3 reported an error: "interrupt - the client has terminated"`)
	require.Equal(t, Result{}, res)
}
