package report

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"
)

func TestWriteJSONGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, olderRun(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "run.json", buf.Bytes())
}

func TestJSONRoundTrip(t *testing.T) {
	run := fixtureRun(t, "nb-1", shortOld...)
	var buf bytes.Buffer
	if err := WriteJSON(&buf, run); err != nil {
		t.Fatal(err)
	}
	got, err := ReadJSON(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, run) {
		t.Errorf("round trip changed the run:\n got %+v\nwant %+v", got, run)
	}
	// The three-round throughput has no interval, (-Inf, +Inf): null in
	// JSON, infinite again after reading.
	s := got.Results[4].Metrics[0].Summary
	if !math.IsInf(s.Lo, -1) || !math.IsInf(s.Hi, 1) || len(s.Warnings) == 0 {
		t.Errorf("throughput summary after the round trip: %+v", s)
	}
	if !strings.Contains(buf.String(), `"lo": null`) {
		t.Errorf("an unbounded interval should be written as null")
	}

	// Writing what was read gives the same bytes.
	var again bytes.Buffer
	if err := WriteJSON(&again, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), buf.Bytes()) {
		t.Errorf("rewriting a read summary changed it")
	}
}

// TestJSONUnfinishedRun: a run that did not finish, with no results, is
// still a valid summary (results are data, failed runs included).
func TestJSONUnfinishedRun(t *testing.T) {
	run := fixtureRun(t, "nb-1", shortOld...)
	run.Finished = time0
	run.Results = nil
	var buf bytes.Buffer
	if err := WriteJSON(&buf, run); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"finished": null`, `"results": []`, `"status": "error"`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("summary lacks %s", want)
		}
	}
	got, err := ReadJSON(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Finished.IsZero() || len(got.Results) != 0 || len(got.Scenarios) != 4 {
		t.Errorf("read back: finished %v, %d results, %d scenarios", got.Finished, len(got.Results), len(got.Scenarios))
	}
}

func TestReadJSONRejects(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, fixtureRun(t, "nb-1", shortOld...)); err != nil {
		t.Fatal(err)
	}
	good := buf.String()
	tests := []struct {
		name, input, want string
	}{
		{"empty", "", "EOF"},
		{"truncated", good[:len(good)/2], "unexpected EOF"},
		{"another schema", strings.Replace(good, Schema, "kube-netbench/report/v2", 1), `schema "kube-netbench/report/v2"`},
		{"unknown field", strings.Replace(good, `"id":`, `"runID": "x", "id":`, 1), `unknown field "runID"`},
		{"trailing data", good + "{}", "data after the JSON value"},
		{"unknown status", strings.Replace(good, `"status": "skipped"`, `"status": "n/a"`, 1), `unknown status "n/a"`},
		{"summary of other samples", strings.Replace(good, `"n": 3`, `"n": 4`, 1), "summary is of 4 samples, the metric has 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadJSON(strings.NewReader(tt.input))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReadJSON error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestWriteJSONRejectsInvalidRun(t *testing.T) {
	run := fixtureRun(t, "nb-1", shortOld...)
	run.Results[0].Metrics[0].Samples[2] = math.NaN()
	var buf bytes.Buffer
	if err := WriteJSON(&buf, run); !errors.Is(err, ErrInvalidRun) {
		t.Errorf("WriteJSON error = %v, want ErrInvalidRun", err)
	}
	if buf.Len() != 0 {
		t.Errorf("wrote %d bytes of an invalid run", buf.Len())
	}
}

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
