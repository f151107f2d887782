package cli

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLabImagesSaysWhatToBuild(t *testing.T) {
	t.Setenv("NETBENCH_CACHE", t.TempDir())
	var stdout, stderr bytes.Buffer
	require.Equal(t, 1, Run([]string{"lab", "images"}, nil, &stdout, &stderr))
	require.Empty(t, stdout.String())
	require.Contains(t, stderr.String(), "make lab-bins lab-images")
	require.Contains(t, stderr.String(), "fortio/fortio:1.66.5")

	t.Setenv("NETBENCH_CACHE", "relative")
	stderr.Reset()
	require.Equal(t, 2, Run([]string{"lab", "images"}, nil, &stdout, &stderr))
	require.Contains(t, stderr.String(), "absolute")
}
