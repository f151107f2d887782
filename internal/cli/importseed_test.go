package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// seedResults is the seed-layout folder arranged from real captures
// (testdata/seed-results/README.md).
var seedResults = filepath.Join(testdata, "seed-results", "cilium-overlay")

// TestImportSeed imports the test folder: the run is written, every file
// that is not a sample is named, and the exit code says some are not.
func TestImportSeed(t *testing.T) {
	root := t.TempDir()
	code, stdout, stderr := run("", "import-seed", "-o", root, "--id", "old", seedResults)
	require.Empty(t, stderr)
	require.Equal(t, importPartial, code, stdout)
	dir := filepath.Join(root, "old")
	require.Contains(t, stdout, "netbench import-seed: "+seedResults+" (cilium-overlay, ROUNDS 2) → "+dir+"\n")
	for _, line := range []string{
		"REJECTED rps/svc_c64_r2.json: fortio: 104 of 200 calls",
		"MISSING throughput/pod2pod_16stream_r2.json: ",
		"UNPARSEABLE throughput/via_service_8stream_r2.json: iperf3 result: truncated JSON",
		"wrote " + filepath.Join(dir, "import.md"),
	} {
		require.Contains(t, stdout, line)
	}
	for _, f := range []string{"run.json", "import.md", "rps.json", "rps.bench.txt", "throughput.json"} {
		require.FileExists(t, filepath.Join(dir, f))
	}

	// Without --id the run is named after the dataplane and the seed's date.
	code, _, stderr = run("", "import-seed", "-o", root, seedResults)
	require.Equal(t, importPartial, code, stderr)
	require.DirExists(t, filepath.Join(root, "seed-cilium-overlay-20261123T100000Z"))
}

func TestImportSeedErrors(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(root, "taken"), 0o755))
	empty := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		err  string
	}{
		{"no DIR", nil, "netbench import-seed: want one DIR, the seed's results folder (flags first), got 0 arguments []"},
		{"flags after DIR", []string{seedResults, "-o", root}, "(flags first), got 3 arguments"},
		{"unknown flag", []string{"--rounds", "3", seedResults}, "flag provided but not defined: -rounds"},
		{"bad DIR", []string{filepath.Join(empty, "nope")}, "netbench import-seed: DIR " + filepath.Join(empty, "nope") + ": stat "},
		{"not a seed folder", []string{empty}, "netbench import-seed: DIR " + empty + " has no context.yaml: not a seed results folder"},
		{"run exists", []string{"-o", root, "--id", "taken", seedResults},
			"netbench import-seed: -o " + root + " --id taken: " + filepath.Join(root, "taken") + " already exists: give another --id or -o, or move it away"},
		{"bad run ID", []string{"-o", root, "--id", "a/b", seedResults}, `run ID "a/b" cannot name a directory`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run("", append([]string{"import-seed"}, tc.args...)...)
			require.Equal(t, importBadInput, code)
			require.Empty(t, stdout)
			require.Contains(t, stderr, tc.err)
		})
	}
	entries, err := os.ReadDir(filepath.Join(root, "taken"))
	require.NoError(t, err)
	require.Empty(t, entries, "an existing run directory is left as it was")
	_, err = os.Stat(filepath.Join(root, "a"))
	require.ErrorIs(t, err, os.ErrNotExist, "a refused run ID creates nothing")
}
