package dataplane

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// W-BUG-7: the map is sized from what it holds per frontend (observed: the
// lab's kubernetes Service takes 3 entries for 1 backend, a ClusterIP's
// wildcard entry included), for the Services already there plus the run's,
// before the baseline.
func TestPlanLBMapW_BUG_7(t *testing.T) {
	svcs, err := CiliumServices(read(t, "service-list-overlay-idle.json"))
	require.NoError(t, err)
	// The captured agent's map held 3 entries (bpf lb list: the ANY
	// wildcard, the frontend, its backend slot).
	p, err := PlanLBMap(65536, 3, svcs, 10000, 4)
	require.NoError(t, err)
	require.Equal(t, 2.0, p.PerFrontend)
	require.Equal(t, 3+10000*6, p.Need, "the seed's estimate, 10000 x (4 + 1), is 10,000 short")
	require.True(t, p.Fits())

	p, err = PlanLBMap(65536, 3, svcs, 20000, 4)
	require.NoError(t, err)
	require.False(t, p.Fits())
	require.Equal(t, 262144, p.Size(), "120,003 + a quarter, to the next power of two")
	require.Equal(t, "cilium_lb4_services_v2 holds 3 of 65536 entries for 1 frontends with 1 backends (2.00 entries per frontend beyond its backends); "+
		"20000 more Services of 4 endpoints need 120003", p.String())

	_, err = PlanLBMap(65536, 0, svcs, 10, 4)
	require.ErrorContains(t, err, "cannot size the map")
}
