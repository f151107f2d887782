package report

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"
)

// TestFailedRoundsAreRecordedNotSampled: a round whose measurement broke is
// a failure with its reason in both formats, never a number; a result all
// of whose rounds broke is still written.
func TestFailedRoundsAreRecordedNotSampled(t *testing.T) {
	run := fixtureRun(t, "nb-faults", shortOld...)
	run.Results[2].Failures = []Failure{{Round: 3, Reason: "fortio: 1520 of 1600 calls failed (connect: connection refused): the server pod was deleted"}}
	run.Results = append(run.Results, Result{Name: "ServiceScale", Keys: scale("20000", "short"),
		Failures: []Failure{{Round: 1, Reason: "kube-proxy on worker-1 restarted during the round (restarts 0 -> 1)"}}})
	if err := run.Validate(); err != nil {
		t.Fatal(err)
	}

	var js bytes.Buffer
	if err := WriteJSON(&js, run); err != nil {
		t.Fatal(err)
	}
	got, err := ReadJSON(bytes.NewReader(js.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Results, run.Results) {
		t.Errorf("round trip changed the results:\n got %+v\nwant %+v", got.Results, run.Results)
	}
	if !strings.Contains(js.String(), `"reason": "kube-proxy on worker-1 restarted`) {
		t.Errorf("JSON lacks the failure:\n%s", js.String())
	}

	var bf bytes.Buffer
	if err := WriteBenchfmt(&bf, run); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# failed BenchmarkServiceScale/dataplane=iptables/svc=0/conn=short round 3: fortio: 1520 of 1600 calls failed",
		"# failed BenchmarkServiceScale/dataplane=iptables/svc=20000/conn=short round 1: kube-proxy on worker-1",
	} {
		if !strings.Contains(bf.String(), want) {
			t.Errorf("benchmark format lacks %q:\n%s", want, bf.String())
		}
	}
	// benchstat's reader sees the six samples of svc=0 short and nothing of
	// the round that broke.
	r := benchfmt.NewReader(bytes.NewReader(bf.Bytes()), "run.bench.txt")
	lines := 0
	for r.Scan() {
		if res, ok := r.Result().(*benchfmt.Result); ok && strings.Contains(string(res.Name), "svc=0/conn=short") {
			lines++
		}
	}
	if lines != 6 {
		t.Errorf("benchstat reads %d samples of svc=0 short, want the 6 measured", lines)
	}
}
