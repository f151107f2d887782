package report

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// time0 is the zero time: not set.
var time0 time.Time

func TestValidateFixture(t *testing.T) {
	if err := fixtureRun(t, "nb-1", shortOld...).Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Run)
		want   string
	}{
		{"no ID", func(r *Run) { r.ID = "" }, "run ID is empty"},
		{"no start", func(r *Run) { r.Started = time0 }, "start time is not set"},
		{"finished before started", func(r *Run) { r.Finished = r.Started.Add(-1) }, "before it started"},
		{"NaN sample", func(r *Run) { r.Results[0].Metrics[0].Samples[2] = math.NaN() }, "sample 2 is NaN"},
		{"no samples", func(r *Run) { r.Results[0].Metrics[0].Samples = nil }, "no samples"},
		{"no metrics", func(r *Run) { r.Results[0].Metrics = nil }, "no metrics"},
		{"space in a key value", func(r *Run) { r.Results[0].Keys[0].Value = "kube proxy" }, `value of dataplane "kube proxy" must not contain spaces`},
		{"slash in a name", func(r *Run) { r.Results[0].Name = "Service/Scale" }, `name "Service/Scale"`},
		{"GOMAXPROCS-like suffix", func(r *Run) { r.Results[0].Keys[2].Value = "cilium-1" }, "benchstat reads as GOMAXPROCS"},
		{"duplicate result", func(r *Run) { r.Results[1].Keys = r.Results[0].Keys }, "appears twice; benchstat would merge"},
		{"duplicate unit", func(r *Run) { r.Results[0].Metrics[1].Unit = "req/s" }, `unit "req/s" appears twice`},
		{"untidy unit", func(r *Run) { r.Results[0].Metrics[1].Unit = "p99-ns" }, `would rewrite it as "p99-sec"`},
		{"unknown better", func(r *Run) { r.Results[0].Metrics[0].Better = "more" }, `better is "more"`},
		{"conflicting better", func(r *Run) { r.Results[2].Metrics[0].Better = LowerIsBetter }, "another result has better=higher"},
		{"invalid raw", func(r *Run) { r.Results[0].Raw = []byte("{") }, "raw output is not valid JSON"},
		{"failure without a round", func(r *Run) { r.Results[0].Failures = []Failure{{Reason: "x"}} }, "failure 0: round 0"},
		{"failure reason on two lines", func(r *Run) { r.Results[0].Failures = []Failure{{Round: 1, Reason: "a\nb"}} }, "not one line"},
		{"unknown scenario status", func(r *Run) { r.Scenarios[0].Status = "ok" }, `unknown status "ok"`},
		{"duplicate scenario", func(r *Run) { r.Scenarios[1].Name = "ServiceScale" }, "scenario ServiceScale appears twice"},
		{"upper-case extra key", func(r *Run) { r.Fingerprint.Extra["Cilium"] = "1.19.4" }, `configuration key "Cilium" must match`},
		{"extra key shadows a field", func(r *Run) { r.Fingerprint.Extra["kernel"] = "6.1" }, `"kernel" is already used by kernel`},
		{"line break in a value", func(r *Run) { r.Fingerprint.Kernel = "6.6\n" }, "line break"},
		{"space in an image", func(r *Run) { r.Fingerprint.Tools[0].Image = "fortio latest" }, `image "fortio latest" must not contain spaces`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := fixtureRun(t, "nb-1", shortOld...)
			tt.modify(&run)
			err := run.Validate()
			if !errors.Is(err, ErrInvalidRun) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate = %v, want ErrInvalidRun containing %q", err, tt.want)
			}
		})
	}
}

// A tool's stderr in a failure's reason (fortio's JSON log, one line per
// refused connection, seen when the lab's server pod was deleted) becomes
// one bounded line that Validate accepts.
func TestReasonIsOneBoundedLine(t *testing.T) {
	line := `{"level":"err","msg":"Unable to connect","err":"dial tcp 10.101.117.10:8080: connect: connection refused"}`
	stderr := "pod nb-rps/fortio-server was deleted; fortio load: exited with code 1; stderr: Fortio 1.66.5\n" + strings.Repeat(line+"\n", 40)
	r := Reason(stderr)
	require.LessOrEqual(t, len(r), MaxReason+60)
	require.NotContains(t, r, "\n")
	require.True(t, strings.HasPrefix(r, "pod nb-rps/fortio-server was deleted; fortio load"))
	require.Contains(t, r, "more bytes in the test log)")
	require.Equal(t, "short reason", Reason(" short\treason \n"))
	require.Equal(t, "é", Reason("é"))
	long := strings.Repeat("é", MaxReason)
	require.True(t, utf8.ValidString(Reason(long)), "cut on a rune boundary")
	res := Result{Name: "RPS", Keys: []KV{{Key: "dataplane", Value: "iptables"}}, Failures: []Failure{{Round: 2, Reason: r}}}
	require.NoError(t, res.validate(map[string]string{}))
}
