//go:build linux

package conntrack

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kube-netbench/internal/lab/netlab"
)

// testNetns creates a network namespace of its own for one test.
func testNetns(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("creates a network namespace and conntrack entries: needs root")
	}
	name := "nb-test-conntrack"
	_, err := os.Stat(netlab.NetnsPath(name))
	require.ErrorIs(t, err, fs.ErrNotExist, "netns %s exists already: another run is using it, or leftovers", name)
	require.NoError(t, netlab.CreateNetns(name))
	t.Cleanup(func() { assert.NoError(t, netlab.DeleteNetns(name)) })
	return name
}

func TestFillAndRemove(t *testing.T) {
	name := testNetns(t)
	max, err := Max(name)
	require.NoError(t, err)
	require.Greater(t, max, 2000, "nf_conntrack_max")
	tbl, err := Open(name, 300*time.Second)
	require.NoError(t, err)
	t.Cleanup(tbl.Close)
	t.Cleanup(func() { assert.NoError(t, tbl.Remove()) })

	before, err := Count(name)
	require.NoError(t, err)
	require.Zero(t, before, "a new namespace's table")

	// A limit below the table's room: no "full", exactly the limit added.
	start := time.Now()
	full, err := tbl.Fill(1000)
	require.NoError(t, err)
	require.False(t, full)
	t.Logf("1000 entries in %s", time.Since(start))
	requireEntries(t, tbl, name, 1000)
	// Filling again tops up to the new limit, with new tuples.
	full, err = tbl.Fill(1500)
	require.NoError(t, err)
	require.False(t, full)
	requireEntries(t, tbl, name, 1500)
	requireAssured(t, name, 1500)

	require.NoError(t, tbl.Remove())
	require.Zero(t, tbl.Added())
	left, err := tbl.Left()
	require.NoError(t, err)
	require.Zero(t, left)
	after, err := Count(name)
	require.NoError(t, err)
	require.Equal(t, before, after, "the table after removal")
	require.NoError(t, tbl.Remove(), "removing twice is a no-op")
}

func requireEntries(t *testing.T, tbl *Table, name string, n int) {
	t.Helper()
	require.Equal(t, n, tbl.Added())
	left, err := tbl.Left()
	require.NoError(t, err)
	require.Equal(t, n, left, "dummy entries listed")
	count, err := Count(name)
	require.NoError(t, err)
	require.Equal(t, n, count, "nf_conntrack_count in %s", name)
}

// requireAssured checks, with conntrack(8) when the machine has it, that
// every entry is an assured ESTABLISHED TCP connection of the dummy range:
// the kernel drops any other first when the table is full.
func requireAssured(t *testing.T, name string, n int) {
	t.Helper()
	if _, err := exec.LookPath("conntrack"); err != nil {
		t.Log("conntrack(8) not installed: the entries' state is not checked")
		return
	}
	out, err := exec.Command("nsenter", "--net="+netlab.NetnsPath(name), "--", "conntrack", "-L", "-p", "tcp").Output()
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.Len(t, lines, n)
	for _, l := range lines {
		require.Regexp(t, `^tcp .* ESTABLISHED src=198\.18\.\d+\.\d+ dst=198\.19\.0\.1 .* \[ASSURED\]`, l)
	}
}

func TestBadInput(t *testing.T) {
	_, err := Open("nb-test-conntrack", 0)
	require.ErrorContains(t, err, "timeout=0s, want 1s to 24h")
	tbl := &Table{netns: "x"}
	_, err = tbl.Fill(-1)
	require.ErrorContains(t, err, "limit=-1, want 0 to 4194304")
	_, err = tbl.Fill(MaxEntries + 1)
	require.ErrorContains(t, err, "limit=4194305")
}

func TestTuplesAreDistinctAndInRange(t *testing.T) {
	seen := map[string]bool{}
	for _, i := range []int{0, 1, 255, 256, 65535, 65536, 65537, MaxEntries - 1} {
		src, sport := tuple(i)
		require.True(t, Range.Contains(src), "entry %d: %s", i, src)
		key := fmt.Sprintf("%s:%d", src, sport)
		require.False(t, seen[key], "entry %d repeats %s", i, key)
		seen[key] = true
		require.GreaterOrEqual(t, sport, uint16(1024))
	}
	require.True(t, Range.Contains(dst))
}
