// Package scale creates, verifies and deletes the thousands of dummy
// Services the Service-scale test needs, each with a hand-made
// discovery.k8s.io/v1 EndpointSlice of dummy endpoints.
//
// A Plan is pure: Service i, its EndpointSlice and its namespace are
// functions of the Plan and i, so a run grows step by step (Grow 0..5000,
// then 5000..10000) and any step can be verified. Everything carries the run
// labels of package fixtures plus netbench.io/role=dummy; the namespaces carry
// the run labels, and cleanup deletes them by label (W-OPS-1).
//
// A typical scale run:
//
//	p := scale.Plan{RunID: cfg.RunID, Endpoints: cfg.SvcEndpoints, PerNamespace: scale.DefaultPerNamespace,
//		NamespacePrefix: scale.DefaultNamespacePrefix, Dummy: scale.DefaultDummy, Port: scale.DefaultPort,
//		MaxServices: steps[len(steps)-1]}
//	c := scale.Creator{Client: cs, Workers: cfg.SvcCreateParallel, ClusterIPs: scale.Explicit(serviceCIDR), Log: t.Logf}
//	if _, err := scale.Leftovers(ctx, cs); err != nil { t.Fatal(err) } // names them and says how to remove them
//	t.Cleanup(func() { _, _ = scale.Delete(context.WithoutCancel(ctx), cs, p.RunID) }) // log the error in real code
//	prev := 0
//	for _, n := range steps {
//		st, err := c.Grow(ctx, p, prev, n) // st.ServicesPerSec is creation_rate_svc_per_s
//		...
//		err = c.Verify(ctx, p, n) // exactly [0, n), each with its endpoints, before any sync wait (W-SYNC-1)
//		prev = n
//	}
//
// # Against the seed script
//
//   - Objects are Services plus EndpointSlices created directly, not core/v1
//     Endpoints: the seed's Endpoints reached dataplanes only through
//     kube-controller-manager's mirroring controller, a hidden asynchronous
//     hop with its own rate limits, on an API deprecated since 1.33
//     (W-SYNC-2). The slices carry endpointslice.kubernetes.io/managed-by
//     kube-netbench, so the EndpointSlice controller leaves them alone.
//   - Every failure is counted and returned, never discarded (W-BUG-5); a
//     retried create that meets AlreadyExists is a success, not an error.
//   - Endpoint addresses come from the RFC 2544 benchmarking range the lab
//     blackholes, not from 10.100.0.0/15, which may be a real network.
//   - Cleanup is by label and waits for the namespaces to be gone; Leftovers
//     finds what earlier runs left, including Terminating namespaces (W-OPS-1).
//   - SeedMethod reproduces the seed's own method (500-Service YAML files,
//     four `kubectl apply` at a time, Services plus Endpoints) with every
//     exit code and stderr line checked, so that a run can report its own
//     creation rate next to the seed method's on the same apiserver.
//
// # What is fastest, honestly
//
// Creating a ClusterIP Service is capped by the apiserver's ClusterIP
// allocator, not by the client: on the lab's control plane an allocation
// took about 22 ms and Service POSTs queued behind it (lab-recipe §6; single
// observations, this package measures nothing itself). The options, and
// what this package does with them:
//
//   - Worker count. 32 workers gave 38 Services/s where 1 gave 28/s; more
//     only lengthen the queue at the allocator. Creator.Workers defaults to 32.
//   - Service, then its EndpointSlice, in the same worker. The slice POST
//     does not touch the allocator, so it overlaps the other workers' queued
//     Service POSTs and costs almost nothing in wall time; doing it in the
//     same worker means a slice never exists without its Service, a Service
//     that fails leaves no orphan slice, and a dataplane sees each Service
//     complete soon after it appears.
//   - Auto ClusterIPs (Allocation Auto, the default): the allocator searches
//     the range for a free address. Works everywhere, needs no knowledge of
//     the Service range.
//   - Explicit ClusterIPs (Explicit(serviceCIDR)): each Service asks for a
//     deterministic address of the range in spec.clusterIP, so the allocator
//     only checks and reserves it. The lab measured 60-80 Services/s (132/s
//     with no dataplane watching) against 38/s for Auto. Addresses are the
//     range's .2 onwards by index, never the network, first (.1, the
//     kubernetes Service) or broadcast address, never shared between two
//     indexes of a run; an address someone else holds ("provided IP is
//     already allocated") moves that index to its next candidate, index +
//     k*MaxServices. A side benefit: the dummy set is the same in every run
//     and on every dataplane. The cost: the caller must know the Service range
//     (kube-apiserver's --service-cluster-ip-range or a ServiceCIDR object).
//   - Headless Services would be created at about 625/s, but no dataplane
//     programs a Service without a ClusterIP, so they would measure nothing.
//     Not offered.
//   - kubectl apply, as the seed did: client-side apply, a GET before each
//     create and a last-applied annotation on each object; 47 Services/s
//     (with Endpoints) in the lab. Offered only as SeedMethod, for the
//     comparison.
//   - Client-side rate limiting: client-go's default of 5 QPS would cap
//     creation at 2.5 Services/s. Grow warns (Stats.Warnings) when the
//     client's limit is below 1000 requests/s.
//
// A full Service range is reported as such (the apiserver's "range is
// full" is not retried), and Explicit checks the range's capacity against
// MaxServices before creating anything: 30,000 Services need at least a /17.
package scale
