package runtime

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseMountPoints(t *testing.T) {
	const mountinfo = `22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:5 - cgroup2 cgroup2 rw
90 27 0:50 / /tmp/with\040space\011tab\134back rw - tmpfs tmpfs rw
`
	got, err := parseMountPoints(strings.NewReader(mountinfo))
	require.NoError(t, err)
	require.Equal(t, []string{"/proc", "/", "/sys/fs/cgroup/unified", "/tmp/with space\ttab\\back"}, got)

	_, err = parseMountPoints(strings.NewReader("22 27 0:21\n"))
	require.ErrorContains(t, err, "malformed")
}

func TestUnescapeOctal(t *testing.T) {
	for in, want := range map[string]string{
		`/plain`:     "/plain",
		`/a\040b`:    "/a b",
		`/end\04`:    `/end\04`, // truncated escape kept
		`/x\999`:     `/x\999`,  // not octal
		`\134\040\n`: "\\ \\n",
	} {
		require.Equal(t, want, unescapeOctal(in), in)
	}
}
