package bench

import (
	"context"
	"io"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"kube-netbench/internal/podexec"
	"kube-netbench/internal/tools/fortio"
)

func TestParseSockStat(t *testing.T) {
	// The format of kernel 6.18's /proc/net/sockstat; the values are made up
	// (a server pod after a short-connection run).
	st, err := ParseSockStat("sockets: used 8\nTCP: inuse 3 orphan 0 tw 41500 alloc 4 mem 1\nUDP: inuse 0 mem 0\n")
	require.NoError(t, err)
	require.Equal(t, SockStat{TCPInUse: 3, TCPTimeWait: 41500}, st)
	_, err = ParseSockStat("sockets: used 8\n")
	require.ErrorContains(t, err, "no TCP line")
	_, err = ParseSockStat("TCP: inuse x orphan 0 tw 1\n")
	require.ErrorContains(t, err, "sockstat")
	_, err = ParseSockStat("TCP: inuse 1 orphan 0 tw -5\n")
	require.ErrorContains(t, err, "tw -5 is negative")
	_, err = ParseSockStat("TCP: inuse 1 alloc 2\n")
	require.ErrorContains(t, err, "lacks")
	// A count named twice would stand in for one not named (FuzzParseSockStat's
	// property: every count read is one the line names).
	_, err = ParseSockStat("TCP: inuse 1 inuse 2 tw 3\n")
	require.EqualError(t, err, `sockstat: "TCP: inuse 1 inuse 2 tw 3" names inuse twice`)
}

// replay answers every exec with a captured fortio output and records the
// argv and whether the call carried a deadline.
type replay struct {
	file        string
	argv        []string
	hadDeadline bool
}

func (r *replay) Exec(ctx context.Context, _ podexec.Target, argv []string, _ io.Reader, stdout, _ io.Writer) error {
	r.argv = argv
	_, r.hadDeadline = ctx.Deadline()
	b, err := os.ReadFile(r.file)
	if err != nil {
		return err
	}
	_, err = stdout.Write(b)
	return err
}

func TestFortio(t *testing.T) {
	l := fortio.Load{URL: "http://127.0.0.1:18080/echo", Connections: 4, Duration: 2 * time.Second, Keepalive: true}
	r := &replay{file: "../../testdata/fortio/keepalive.json"}
	res, raw, err := Fortio(context.Background(), r, podexec.Target{Namespace: "ns", Pod: "client"}, l, 30*time.Second)
	require.NoError(t, err)
	require.True(t, r.hadDeadline, "every exec carries a deadline derived from the run")
	want, _ := l.Argv()
	require.Equal(t, want, r.argv)
	require.NotEmpty(t, raw)
	require.Positive(t, res.ActualQPS)

	// A run whose calls failed is an error that names the codes (W-BUG-4).
	r = &replay{file: "../../testdata/fortio/http-503.json"}
	_, _, err = Fortio(context.Background(), r, podexec.Target{}, l, time.Second)
	require.ErrorContains(t, err, "503: ")
}
