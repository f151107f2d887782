package bench

import (
	"fmt"
	"strings"
	"testing"

	"kube-netbench/internal/golden"
)

// FuzzParseProcStat and FuzzParseSockStat feed the readers of a node's
// /proc files their captures and what the fuzzer makes of them: neither may
// panic or hang, a rejection says why, and what they accept is a reading a
// saturation check or a TIME_WAIT drain can trust.
func FuzzParseProcStat(f *testing.F) {
	golden.FuzzParser(f, "procstat/*.txt", golden.Text(ParseProcStat),
		func(t CPUTimes) bool { return t == CPUTimes{} },
		func(t CPUTimes) string {
			switch {
			case t.CPUs <= 0:
				return "no CPU"
			case t.Busy+t.Idle < t.Busy:
				return "busy and idle time overflow their sum"
			}
			return ""
		})
}

func FuzzParseSockStat(f *testing.F) {
	golden.Seed(f, "sockstat/*.txt")
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := ParseSockStat(string(b))
		if err != nil {
			if st != (SockStat{}) || strings.TrimSpace(err.Error()) == "" {
				t.Errorf("rejected %q with %+v and error %q", b, st, err)
			}
			return
		}
		if msg := insaneSockStat(string(b), st); msg != "" {
			t.Errorf("accepted %q: %s (%+v)", b, msg, st)
		}
	})
}

// insaneSockStat says what is wrong with st read from s, "" when nothing:
// every count is one the TCP line names, and none is negative.
func insaneSockStat(s string, st SockStat) string {
	if st.TCPInUse < 0 || st.TCPTimeWait < 0 || st.TCPOrphan < 0 {
		return "a negative count"
	}
	for _, line := range strings.Split(s, "\n") {
		rest, ok := strings.CutPrefix(line, "TCP:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		for _, key := range []string{"inuse", "orphan", "tw"} {
			named := false
			for i := 0; i+1 < len(f); i += 2 {
				named = named || f[i] == key
			}
			if !named {
				return fmt.Sprintf("the TCP line has no %s", key)
			}
		}
		return ""
	}
	return "no TCP line"
}
