package dataplane

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// LBServiceMap is the Cilium map whose size bpf-lb-map-max sets and that a
// Service-scale run fills: one entry per frontend, one per backend slot, and
// the wildcard entries Cilium adds (observed, not assumed).
const LBServiceMap = "cilium_lb4_services_v2"

// LBMapPlan sizes LBServiceMap for a run before anything is measured
// (W-BUG-7: the seed's estimate, Services x (endpoints + 1), undercounted by
// about 20 % against the entries it observed, ignored the Services already
// there, and its fix restarted Cilium between the baseline and the steps).
type LBMapPlan struct {
	// MaxEntries and Entries are the map's size and fill now.
	MaxEntries, Entries int
	// Frontends and Backends are the service table's now.
	Frontends, Backends int
	// PerFrontend is the observed entries per frontend beyond its backends:
	// (Entries - Backends) / Frontends.
	PerFrontend float64
	// Add Services with Endpoints endpoints each will be created.
	Add, Endpoints int
	// Need is Entries plus Add x (Endpoints + PerFrontend), rounded up.
	Need int
}

// PlanLBMap predicts the map's fill at the run's peak from what it holds
// now and the service table it holds it for.
func PlanLBMap(maxEntries, entries int, fes []CiliumFrontend, add, endpoints int) (LBMapPlan, error) {
	p := LBMapPlan{MaxEntries: maxEntries, Entries: entries, Frontends: len(fes), Add: add, Endpoints: endpoints}
	for _, fe := range fes {
		p.Backends += fe.Backends
	}
	if p.Frontends == 0 || entries < p.Backends+p.Frontends {
		return p, errors.New("the service table and the map disagree (no frontend, or fewer map entries than frontends and backends): cannot size the map")
	}
	p.PerFrontend = float64(entries-p.Backends) / float64(p.Frontends)
	p.Need = entries + int(math.Ceil(float64(add)*(float64(endpoints)+p.PerFrontend)))
	return p, nil
}

// Fits reports whether the map holds the run's peak.
func (p LBMapPlan) Fits() bool { return p.Need <= p.MaxEntries }

// Size is the bpf-lb-map-max to ask for when it does not fit: the next
// power of two with room for the peak and a quarter more.
func (p LBMapPlan) Size() int {
	n := uint(p.Need + p.Need/4)
	return 1 << bits.Len(n-1)
}

func (p LBMapPlan) String() string {
	return fmt.Sprintf("%s holds %d of %d entries for %d frontends with %d backends (%.2f entries per frontend beyond its backends); "+
		"%d more Services of %d endpoints need %d", LBServiceMap, p.Entries, p.MaxEntries, p.Frontends, p.Backends, p.PerFrontend,
		p.Add, p.Endpoints, p.Need)
}
