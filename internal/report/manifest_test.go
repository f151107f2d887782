package report

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestManifestValidate(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	m := Manifest{ID: "nb-1", Started: t0, Finished: t0.Add(-time.Second), Dimensions: []Dimension{
		{Name: "rps", Status: "ok"},
		{Name: "rps", Status: StatusPassed, Files: []string{"../rps.json", "/tmp/x", ""}},
	}}
	err := WriteManifest(&bytes.Buffer{}, m)
	require.ErrorIs(t, err, ErrInvalidRun)
	for _, want := range []string{"before it started", `unknown status "ok"`, "rps appears twice", `"../rps.json" is not a path inside`, `"/tmp/x"`, `file ""`} {
		require.Contains(t, err.Error(), want)
	}
	var b bytes.Buffer
	good := Manifest{ID: "nb-1", Started: t0, Dimensions: []Dimension{{Name: "rps", Status: StatusPassed, Files: []string{"rps.json"}}}}
	require.NoError(t, WriteManifest(&b, good))
	require.Contains(t, b.String(), `"finished": null`, "a run still going (or interrupted) says so")
	got, err := ReadManifest(&b)
	require.NoError(t, err)
	require.Equal(t, good, got)
	require.Equal(t, "rps.json", got.Dimensions[0].RunFile())
}
