package main

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The lab's tools image must be configured as images/tools/Dockerfile builds the published
// one, under the reference .github/workflows/images.yaml pushes, from the same tool versions.
func TestToolsImageMatchesDockerfile(t *testing.T) {
	df := readRepoFile(t, "images/tools/Dockerfile")
	wf := readRepoFile(t, ".github/workflows/images.yaml")
	cache := testCache(t, "/cache")
	netperfVersion, _, _ := strings.Cut(cache.Versions.Netperf, "-")
	require.Equal(t, IperfVersion, instruction(t, df, `ARG IPERF3_VERSION=`), "Dockerfile vs IperfVersion")
	require.Equal(t, netperfVersion, instruction(t, df, `ARG NETPERF_VERSION=`), "Dockerfile vs lab-versions.env NETPERF_VERSION")
	ref := instruction(t, wf, `  IMAGE: `) + ":" + instruction(t, wf, `  TAG: `)
	require.Equal(t, toolsRef, ref, "images.yaml pushes the reference the suite runs")

	c := specByRef(t, cache, ref).ConfigFile().Config
	require.Equal(t, jsonList(t, instruction(t, df, `ENTRYPOINT `)), c.Entrypoint)
	require.Equal(t, jsonList(t, instruction(t, df, `CMD `)), c.Cmd)
	require.Equal(t, instruction(t, df, `USER `), c.User)
	ports := map[string]struct{}{}
	for _, p := range strings.Fields(instruction(t, df, `EXPOSE `)) {
		ports[p] = struct{}{}
	}
	require.Equal(t, ports, c.ExposedPorts)
	// The Dockerfile sets no ENV or WORKDIR: Debian's base has none but the default PATH.
	require.NotRegexp(t, `(?m)^(ENV|WORKDIR) `, df)
	require.Equal(t, []string{DefaultPath}, c.Env)
	require.Empty(t, c.WorkingDir)
}

// readRepoFile reads a file of the repository this module sits in (scripts/labbuild/images).
func readRepoFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile("../../../" + p)
	require.NoError(t, err)
	return string(b)
}

// instruction returns the rest of the one line that starts with prefix.
func instruction(t *testing.T, text, prefix string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(prefix)+`(.*)$`).FindAllStringSubmatch(text, -1)
	require.Len(t, m, 1, "want one line starting %q", prefix)
	return strings.TrimSpace(m[0][1])
}

func jsonList(t *testing.T, s string) []string {
	t.Helper()
	var l []string
	require.NoError(t, json.Unmarshal([]byte(s), &l), "exec form expected: %s", s)
	return l
}
