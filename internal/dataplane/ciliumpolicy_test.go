package dataplane

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCiliumEndpointsCaptured(t *testing.T) {
	b, err := os.ReadFile("../../testdata/cilium/endpoint-list-overlay-idle.json")
	require.NoError(t, err)
	eps, err := CiliumEndpoints(b)
	require.NoError(t, err)
	require.Equal(t, []CiliumEndpoint{{ID: 3764, Pod: "/", State: "ready", PolicyRevision: 1, PolicyEnabled: "none"}}, eps, "the host endpoint")
}

func TestCiliumPolicyAndEndpointsReject(t *testing.T) {
	// Not captures: the shape of cilium-dbg's JSON with one value changed
	// (no `policy get -o json` has been captured yet).
	p, err := ParseCiliumPolicy([]byte(`{"revision": 7, "policy": "[{\"labels\": [{\"key\": \"io.cilium.k8s.policy.name\", \"value\": \"allow\"}, {\"key\": \"io.cilium.k8s.policy.namespace\", \"value\": \"nb\"}]}]"}`))
	require.NoError(t, err)
	require.Equal(t, CiliumPolicy{Revision: 7, From: []string{"nb/allow"}}, p)
	require.True(t, p.Has("nb", "allow"))

	_, err = ParseCiliumPolicy([]byte(`{"revision": -1, "policy": "[]"}`))
	require.EqualError(t, err, "cilium-dbg policy get -o json: revision -1 is negative")
	_, err = ParseCiliumPolicy([]byte(`{"policy": "[]"}`))
	require.EqualError(t, err, "cilium-dbg policy get -o json: no revision")

	_, err = CiliumEndpoints([]byte(`[{"id": 5, "status": {"state": "ready", "policy": {"realized": {"policy-revision": -2}}}}]`))
	require.EqualError(t, err, "cilium-dbg endpoint list -o json: endpoint 5: policy revision -2 is negative")
}
