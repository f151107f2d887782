package dataplane

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// W-BUG-1 / W-OPS-2: the seed's Hubble toggle reached one agent at most and
// took effect on none; a state is accepted only when every node's agent
// reports it.
func TestVerifyHubbleW_BUG_1(t *testing.T) {
	nodes := []string{"n1", "n2"}
	on := &Cilium{Hubble: map[string]string{"n1": "Ok", "n2": "Ok"}}
	require.NoError(t, VerifyHubble(on, nodes, true))
	require.EqualError(t, VerifyHubble(on, nodes, false),
		`hubble should be "Disabled" on every node, but the agents report n1: "Ok"; n2: "Ok"`)

	oneAgent := &Cilium{Hubble: map[string]string{"n1": "Disabled", "n2": "Ok"}}
	require.EqualError(t, VerifyHubble(oneAgent, nodes, false),
		`hubble should be "Disabled" on every node, but the agents report n2: "Ok"`)

	missing := &Cilium{Hubble: map[string]string{"n1": "Disabled"}}
	require.EqualError(t, VerifyHubble(missing, nodes, false),
		`hubble should be "Disabled" on every node, but the agents report n2: no running agent`)
}
