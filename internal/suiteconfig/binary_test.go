package suiteconfig

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kube-netbench/internal/lab/netplan"
)

// TestCompiledSuiteRefusesBadSettings builds the suite's test binary and
// runs it, without a kubeconfig (so it would start the lab), from a
// directory outside the repository, with settings of every kind wrong: it
// exits 2 naming each, in seconds, having created no lab directory and no
// results, and loads its default profile from itself.
func TestCompiledSuiteRefusesBadSettings(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the e2e suite")
	}
	if runtime.GOOS != "linux" {
		t.Skip("without a kubeconfig the suite uses the lab, which is Linux-only")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the suite with")
	}
	// A defect that let the binary reach the lab would tear down, on its
	// way out, whatever lab runs on this machine (lab.Down without a record
	// goes by the lab's fixed names): never run beside one.
	if labs, _ := filepath.Glob("/run/netns/" + netplan.Prefix + "*"); len(labs) > 0 {
		t.Skipf("a lab runs on this machine (%v)", labs)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "e2e.test")
	wd, err := os.Getwd()
	require.NoError(t, err)
	build := exec.Command(goBin, "test", "-c", "-o", bin, "./e2e")
	build.Dir = ModuleRoot(wd)
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go test -c ./e2e:\n%s", out)

	elsewhere, labDir, file := filepath.Join(dir, "elsewhere"), filepath.Join(dir, "lab"), filepath.Join(dir, "a-file")
	require.NoError(t, os.Mkdir(elsewhere, 0o755))
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "LAB_DIR=" + labDir,
		// Should validation let it through, the lab's preflight stops at
		// the missing components before it creates anything.
		"NETBENCH_CACHE=" + filepath.Join(dir, "no-cache"),
		"LAB_NODES=1", "FORTIO_IMAGE=fortio/fortio:1.66.5:1", "RESULTS_DIR=" + filepath.Join(file, "results"), "ROUNDS=0"}
	// The binary runs this package's Load first: it must refuse here.
	_, err = Load(Inputs{Getenv: func(k string) string { return lookup(env, k) }, Root: elsewhere})
	require.Error(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-test.run", "^TestDataplaneSmoke$", "-test.timeout", "2m")
	cmd.Dir = elsewhere
	cmd.Env = env
	start := time.Now()
	out, err = cmd.CombinedOutput()
	took := time.Since(start)
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "%s", out)
	assert.Equal(t, 2, exit.ExitCode(), "%s", out)
	for _, v := range []string{`LAB_NODES="1"`, `FORTIO_IMAGE="fortio/fortio:1.66.5:1"`, `RESULTS_DIR="` + filepath.Join(file, "results"), `ROUNDS="0"`} {
		assert.Contains(t, string(out), v)
	}
	assert.NotContains(t, string(out), "PROFILE", "the default profile is built in")
	// A lab start takes minutes; refusing takes the binary's start-up.
	assert.Less(t, took, 15*time.Second, "refused before anything started")
	_, err = os.Stat(labDir)
	assert.ErrorIs(t, err, fs.ErrNotExist, "no lab directory")
	entries, err := os.ReadDir(elsewhere)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing written where it ran")
}

// lookup is the value of k in a list of KEY=value.
func lookup(env []string, k string) string {
	for _, kv := range env {
		if key, v, _ := strings.Cut(kv, "="); key == k {
			return v
		}
	}
	return ""
}
