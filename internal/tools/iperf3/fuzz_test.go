package iperf3

import (
	"testing"

	"kube-netbench/internal/golden"
)

// FuzzParse feeds Parse every capture and what the fuzzer makes of them:
// it may not panic or hang, and what it accepts must be a result a reader
// can trust.
func FuzzParse(f *testing.F) {
	golden.FuzzParser(f, "iperf3/*.json", Parse, func(res Result) bool {
		return res.Intervals == nil && res.Throughput() == 0
	}, insane)
}

// insane says what is wrong with an accepted result, "" when nothing.
func insane(r Result) string {
	switch {
	case !(r.Throughput() > 0) || !(r.SenderBitsPerSecond > 0):
		return "no data moved"
	case r.Streams < 1 || r.Duration < 0 || r.Omit < 0 || r.Retransmits < 0:
		return "a count or a time that cannot be"
	case r.CPU.HostTotal < 0 || r.CPU.RemoteTotal < 0:
		return "negative CPU"
	case r.UDP != nil && (r.UDP.LostPackets < 0 || r.UDP.LostPackets > r.UDP.Packets || r.UDP.JitterMs < 0):
		return "impossible loss or jitter"
	}
	for _, iv := range r.Intervals {
		if iv.Start < 0 || iv.End < iv.Start || iv.BitsPerSecond < 0 {
			return "an impossible interval"
		}
	}
	return ""
}
