package iperf3

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

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
