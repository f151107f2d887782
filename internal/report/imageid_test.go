package report

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// A tool's image ID (what the cluster ran) is written in both formats and
// read back from JSON.
func TestToolImageID(t *testing.T) {
	run := fixtureRun(t, "nb-1", shortOld...)
	const id = "docker.io/fortio/fortio@sha256:2e8fa0045ed610c0b36349c6d7a85a73fa96d289ea89361231e9e3c74bf0ba70"
	run.Fingerprint.Tools[0].ImageID = id

	var bench bytes.Buffer
	if err := WriteBenchfmt(&bench, run); err != nil {
		t.Fatal(err)
	}
	want := "tool-fortio: image=fortio/fortio:1.66.5@sha256:0d3b1f6e2c5a version=1.66.5 image-id=" + id + "\n"
	if !strings.Contains(bench.String(), want) {
		t.Errorf("benchmark format has no line %q:\n%s", want, bench.String())
	}

	var js bytes.Buffer
	if err := WriteJSON(&js, run); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js.String(), `"imageID": "`+id+`"`) {
		t.Errorf("JSON has no imageID %s", id)
	}
	got, err := ReadJSON(&js)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Fingerprint.Tools, run.Fingerprint.Tools) {
		t.Errorf("tools after the round trip: %+v, want %+v", got.Fingerprint.Tools, run.Fingerprint.Tools)
	}
}
