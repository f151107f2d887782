package dataplane

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"kube-netbench/internal/kube"
	"kube-netbench/internal/podexec"
)

// Labels Cilium gives the rules it derives from a Kubernetes policy object.
const (
	ciliumPolicyName      = "io.cilium.k8s.policy.name"
	ciliumPolicyNamespace = "io.cilium.k8s.policy.namespace"
)

// CiliumPolicy is an agent's policy repository, `cilium-dbg policy get -o
// json`: its revision and, for each rule, the policy object it came from.
type CiliumPolicy struct {
	Revision int
	// From lists "<namespace>/<name>" of the policy object of each rule.
	From []string
}

// Has reports whether a rule of the policy object ns/name is in the
// repository.
func (p CiliumPolicy) Has(ns, name string) bool {
	for _, f := range p.From {
		if f == ns+"/"+name {
			return true
		}
	}
	return false
}

// ParseCiliumPolicy reads `cilium-dbg policy get -o json`: a revision and
// the rules, themselves JSON in a string.
func ParseCiliumPolicy(b []byte) (CiliumPolicy, error) {
	var raw struct {
		Revision *int   `json:"revision"`
		Policy   string `json:"policy"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return CiliumPolicy{}, fmt.Errorf("cilium-dbg policy get -o json: %w", err)
	}
	if raw.Revision == nil {
		return CiliumPolicy{}, fmt.Errorf("cilium-dbg policy get -o json: no revision")
	}
	// Revisions count up from 1; a negative one would be realized by every
	// endpoint at once and end a policy wait before the policy is in force.
	if *raw.Revision < 0 {
		return CiliumPolicy{}, fmt.Errorf("cilium-dbg policy get -o json: revision %d is negative", *raw.Revision)
	}
	var rules []struct {
		Labels []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"labels"`
	}
	if err := json.Unmarshal([]byte(raw.Policy), &rules); err != nil {
		return CiliumPolicy{}, fmt.Errorf("cilium-dbg policy get -o json: rules: %w", err)
	}
	p := CiliumPolicy{Revision: *raw.Revision}
	for _, r := range rules {
		var ns, name string
		for _, l := range r.Labels {
			switch l.Key {
			case ciliumPolicyName:
				name = l.Value
			case ciliumPolicyNamespace:
				ns = l.Value
			}
		}
		if name != "" {
			p.From = append(p.From, ns+"/"+name)
		}
	}
	return p, nil
}

// CiliumEndpoint is one endpoint of `cilium-dbg endpoint list -o json`.
type CiliumEndpoint struct {
	ID int
	// Pod is "<namespace>/<name>" ("/" for the host and other non-pods).
	Pod   string
	State string
	// PolicyRevision is the policy revision the endpoint's datapath
	// realized; PolicyEnabled which directions it enforces ("none",
	// "ingress", "egress", "both").
	PolicyRevision int
	PolicyEnabled  string
}

// CiliumEndpoints reads `cilium-dbg endpoint list -o json`.
func CiliumEndpoints(b []byte) ([]CiliumEndpoint, error) {
	var raw []struct {
		ID     int `json:"id"`
		Status *struct {
			State string `json:"state"`
			Ext   struct {
				PodName string `json:"pod-name"`
			} `json:"external-identifiers"`
			Policy struct {
				Realized *struct {
					Revision int    `json:"policy-revision"`
					Enabled  string `json:"policy-enabled"`
				} `json:"realized"`
			} `json:"policy"`
		} `json:"status"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("cilium-dbg endpoint list -o json: %w", err)
	}
	out := make([]CiliumEndpoint, 0, len(raw))
	for _, r := range raw {
		if r.Status == nil {
			return nil, fmt.Errorf("cilium-dbg endpoint list -o json: endpoint %d has no status", r.ID)
		}
		ep := CiliumEndpoint{ID: r.ID, Pod: r.Status.Ext.PodName, State: r.Status.State}
		if rz := r.Status.Policy.Realized; rz != nil {
			if rz.Revision < 0 {
				return nil, fmt.Errorf("cilium-dbg endpoint list -o json: endpoint %d: policy revision %d is negative", r.ID, rz.Revision)
			}
			ep.PolicyRevision, ep.PolicyEnabled = rz.Revision, rz.Enabled
		}
		out = append(out, ep)
	}
	return out, nil
}

// WaitCiliumPolicy waits, on every node's agent, until the policy object
// ns/name is in its repository (present) or gone from it (!present), and
// every endpoint of the watched pods ("<namespace>/<name>") on that node has
// realized that repository revision: the policy is then in force in the
// datapath, not only accepted by the API (W-SYNC-3). It returns how long
// that took and each node's revision.
func WaitCiliumPolicy(ctx context.Context, e podexec.Executor, cil *Cilium, ns, name string, present bool, pods []string, timeout time.Duration) (time.Duration, map[string]int, error) {
	revs := map[string]int{}
	watch := set(pods)
	took, err := kube.WaitEvery(ctx, fmt.Sprintf("policy %s/%s %s on every agent", ns, name, map[bool]string{true: "realized", false: "removed"}[present]),
		timeout, 250*time.Millisecond, func(ctx context.Context) (bool, string, error) {
			var waiting []string
			for _, node := range slices.Sorted(maps.Keys(cil.Pods)) {
				target := podexec.Target{Namespace: cil.Namespace, Pod: cil.Pods[node], Container: "cilium-agent"}
				b, err := podexec.Output(ctx, e, target, "cilium-dbg", "policy", "get", "-o", "json")
				if err != nil {
					return false, fmt.Sprintf("node %s: %v", node, err), nil
				}
				pol, err := ParseCiliumPolicy(b)
				if err != nil {
					return false, "", fmt.Errorf("node %s: %w", node, err)
				}
				if pol.Has(ns, name) != present {
					waiting = append(waiting, fmt.Sprintf("%s: revision %d without the change", node, pol.Revision))
					continue
				}
				b, err = podexec.Output(ctx, e, target, "cilium-dbg", "endpoint", "list", "-o", "json")
				if err != nil {
					return false, fmt.Sprintf("node %s: %v", node, err), nil
				}
				eps, err := CiliumEndpoints(b)
				if err != nil {
					return false, "", fmt.Errorf("node %s: %w", node, err)
				}
				for _, ep := range eps {
					if watch[ep.Pod] && (ep.PolicyRevision < pol.Revision || ep.State != "ready") {
						waiting = append(waiting, fmt.Sprintf("%s: endpoint %d (%s) %s at revision %d of %d", node, ep.ID, ep.Pod, ep.State, ep.PolicyRevision, pol.Revision))
					}
				}
				revs[node] = pol.Revision
			}
			return len(waiting) == 0, strings.Join(waiting, "; "), nil
		})
	return took, revs, err
}
