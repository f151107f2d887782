package golden

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true }

func TestCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.txt")

	r := &recorder{TB: t}
	Check(r, path, []byte("one\n"), true)
	require.False(t, r.failed)

	Check(r, path, []byte("one\n"), false)
	require.False(t, r.failed, "equal output passes")

	Check(r, path, []byte("two\n"), false)
	require.True(t, r.failed, "different output fails")
	got, err := os.ReadFile(path + ".got")
	require.NoError(t, err)
	require.Equal(t, "two\n", string(got))

	r = &recorder{TB: t}
	Check(r, path, []byte("one\n"), false)
	require.False(t, r.failed)
	_, err = os.Stat(path + ".got")
	require.ErrorIs(t, err, os.ErrNotExist, "a stale .got is removed once the output matches")

	r = &recorder{TB: t}
	Check(r, filepath.Join(t.TempDir(), "missing"), nil, false)
	require.True(t, r.failed, "a missing golden fails")
}

func TestTestdataGlob(t *testing.T) {
	files := TestdataGlob(t, "netperf/tcp-*r.txt")
	require.Equal(t, []string{"netperf/tcp-crr.txt", "netperf/tcp-rr.txt"}, slices.Sorted(maps.Keys(files)))
	require.Equal(t, Testdata(t, "netperf", "tcp-rr.txt"), files["netperf/tcp-rr.txt"])

	r := &recorder{TB: t}
	require.Empty(t, TestdataGlob(r, "netperf/no-such-*.txt"))
	require.True(t, r.failed, "a pattern without a file fails")
}

func TestText(t *testing.T) {
	n, err := Text(strconv.Atoi)(strings.NewReader("42"))
	require.NoError(t, err)
	require.Equal(t, 42, n)
	_, err = Text(strconv.Atoi)(strings.NewReader("4 2"))
	require.Error(t, err, "the parser sees the whole text")
	b, err := Text(func(b []byte) (int, error) { return len(b), nil })(strings.NewReader("abc"))
	require.NoError(t, err)
	require.Equal(t, 3, b)
}
