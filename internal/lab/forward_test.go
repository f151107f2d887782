//go:build linux

package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"kube-netbench/internal/lab/netlab"
)

// TestInjectForwardRules fills a scratch network namespace's FORWARD chain
// and removes the rules again, reading the result with iptables-save.
func TestInjectForwardRules(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a network namespace")
	}
	name := fmt.Sprintf("nbt-fwd-%d", os.Getpid())
	require.NoError(t, netlab.CreateNetns(name))
	t.Cleanup(func() { require.NoError(t, netlab.DeleteNetns(name)) })
	path := netlab.NetnsPath(name)
	save := func() string {
		out, err := exec.Command("nsenter", "--net="+path, "--", "iptables-save", "-t", "filter").CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	ctx := context.Background()
	_, err := injectForward(ctx, []string{path}, 0)
	require.ErrorContains(t, err, "n=0, want 1 to 65536")

	remove, err := injectForward(ctx, []string{path}, 3000)
	require.NoError(t, err)
	got := save()
	require.Equal(t, 3000, strings.Count(got, "-A "+InjectedChain+" -s 198.19."))
	require.Contains(t, got, "-A "+InjectedChain+" -s 198.19.11.183/32 -j DROP", "rule 2999 (11*256+183)")
	require.Regexp(t, `(?m)^-A FORWARD -j `+InjectedChain+`$`, got)

	require.NoError(t, remove(ctx))
	require.NotContains(t, save(), InjectedChain)

	_, err = injectForward(ctx, []string{path, "/nonexistent/netns"}, 10)
	require.ErrorContains(t, err, "iptables-restore in /nonexistent/netns")
	require.NotContains(t, save(), InjectedChain, "a failed injection removes what it added")
}
