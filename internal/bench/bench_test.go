package bench

import (
	"testing"

	"github.com/stretchr/testify/require"
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
	_, err = ParseSockStat("TCP: inuse 1 alloc 2\n")
	require.ErrorContains(t, err, "lacks")
}
