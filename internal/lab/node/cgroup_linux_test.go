package node

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestParseHierarchies reads mountinfo lines of this project's machine
// (hybrid v1) and of a cgroup v2 machine.
func TestParseHierarchies(t *testing.T) {
	hybridInfo := `30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
41 22 0:38 / /sys/fs/bpf rw,relatime - bpf bpf rw
`
	h, err := parseHierarchies(strings.NewReader(hybridInfo))
	require.NoError(t, err)
	require.Equal(t, []string{"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpuset", "/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"}, h)
	v2 := "35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate\n"
	h, err = parseHierarchies(strings.NewReader(v2))
	require.NoError(t, err)
	require.Equal(t, []string{"/sys/fs/cgroup"}, h)
}
