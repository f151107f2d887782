package bpfmaps

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../testdata/cilium/" + name)
	require.NoError(t, err)
	return b
}

// The lab runs two agents on one kernel: bpftool lists both agents' maps,
// and only the ones pinned in the bpffs it saw (its own agent's) are kept.
func TestCiliumKeepsOneAgentsPinnedMaps(t *testing.T) {
	all, err := ParseShow(read(t, "bpftool-map-show-overlay-idle.json"))
	require.NoError(t, err)
	maps := Cilium(all)
	require.Less(t, len(maps), len(all))
	names := map[string]Map{}
	for _, m := range maps {
		require.NotEmpty(t, m.Pinned, m.Name)
		_, dup := names[m.Name]
		require.False(t, dup, "map %s twice: another agent's maps leaked in", m.Name)
		names[m.Name] = m
	}
	svc, ok := names["cilium_lb4_services_v2"]
	require.True(t, ok, "the full name comes from the pin, not the kernel's 15 characters")
	require.Equal(t, "hash", svc.Type)
	require.Equal(t, 65536, svc.MaxEntries)
	require.False(t, svc.Preallocated, "Cilium creates its Service maps with BPF_F_NO_PREALLOC")
	require.Equal(t, -1, svc.Entries)
	require.Equal(t, -1.0, svc.Fill())
	ct := names["cilium_ct4_global"]
	require.Equal(t, "lru_hash", ct.Type)
	require.True(t, ct.Preallocated, "LRU maps are preallocated")
	require.Greater(t, Total(maps), ct.Bytes+svc.Bytes)
}

func TestParseShowErrors(t *testing.T) {
	_, err := ParseShow([]byte(`[{"id":1,"type":"hash","name":"x"}]`))
	require.EqualError(t, err, "bpftool -j map show: map 1 (x) has no bytes_memlock")
	_, err = ParseShow([]byte(`[{"name":"x"}]`))
	require.EqualError(t, err, "bpftool -j map show: entry 0 has no id or type")
	_, err = ParseShow([]byte(`Error: can't get next map: Operation not permitted`))
	require.ErrorContains(t, err, "bpftool -j map show: invalid character")
}

func TestParseDumpCount(t *testing.T) {
	n, err := ParseDumpCount(string(read(t, "bpftool-dump-lb4-reverse-nat-overlay.txt")))
	require.NoError(t, err)
	require.Equal(t, 1, n)
	n, err = ParseDumpCount("key: 00 01  value: 0a\nkey: 00 02  value: 0b\nFound 2 elements\n")
	require.NoError(t, err)
	require.Equal(t, 2, n)
	_, err = ParseDumpCount("key: 00 01  value: 0a\n")
	require.EqualError(t, err, `bpftool map dump: want one "Found N elements" line, got 0`)
	m := Map{MaxEntries: 4, Entries: 1}
	require.Equal(t, 0.25, m.Fill())
}
