package deploy

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// docs splits rbac.yaml into its documents.
func docs(t *testing.T) [][]byte {
	t.Helper()
	var out [][]byte
	for _, d := range bytes.Split(RBAC, []byte("\n---\n")) {
		var meta struct{ Kind string }
		require.NoError(t, yaml.Unmarshal(d, &meta))
		if meta.Kind != "" {
			out = append(out, d)
		}
	}
	return out
}

// TestRBAC: every object decodes strictly; every role is bound, and only to
// the suite's ServiceAccount; no rule grants a wildcard or a right that
// grants rights (bind, escalate, impersonate); every rule says why.
func TestRBAC(t *testing.T) {
	roles, bound := map[string]bool{}, map[string]bool{}
	var sa bool
	for _, d := range docs(t) {
		var meta struct{ Kind string }
		require.NoError(t, yaml.Unmarshal(d, &meta))
		switch meta.Kind {
		case "Namespace":
			require.NoError(t, yaml.UnmarshalStrict(d, &corev1.Namespace{}))
		case "ServiceAccount":
			var s corev1.ServiceAccount
			require.NoError(t, yaml.UnmarshalStrict(d, &s))
			require.Equal(t, ServiceAccountNamespace+"/"+ServiceAccountName, s.Namespace+"/"+s.Name)
			sa = true
		case "ClusterRole", "Role":
			var r rbacv1.Role
			require.NoError(t, yaml.UnmarshalStrict(d, &r))
			require.NotEmpty(t, r.Rules, r.Name)
			for _, rule := range r.Rules {
				for _, v := range rule.Verbs {
					require.NotContains(t, []string{"*", "bind", "escalate", "impersonate", "deletecollection"}, v, r.Name)
				}
				require.NotContains(t, rule.Resources, "*", r.Name)
				require.NotContains(t, rule.APIGroups, "*", r.Name)
			}
			roles[meta.Kind+"/"+r.Namespace+"/"+r.Name] = true
			// Each rule starts with "- apiGroups" right after its comment.
			lines := strings.Split(string(d), "\n")
			for i, l := range lines {
				if strings.HasPrefix(l, "- apiGroups:") {
					require.True(t, i > 0 && strings.HasPrefix(lines[i-1], "#"), "%s: rule %q has no comment saying why", r.Name, l)
				}
			}
		case "ClusterRoleBinding", "RoleBinding":
			var b rbacv1.RoleBinding
			require.NoError(t, yaml.UnmarshalStrict(d, &b))
			require.Equal(t, []rbacv1.Subject{{Kind: "ServiceAccount", Name: ServiceAccountName, Namespace: ServiceAccountNamespace}}, b.Subjects, b.Name)
			ns := b.Namespace
			if b.RoleRef.Kind == "ClusterRole" {
				require.Equal(t, "ClusterRoleBinding", meta.Kind, "%s: a RoleBinding of a ClusterRole is not used here", b.Name)
				ns = ""
			}
			bound[b.RoleRef.Kind+"/"+ns+"/"+b.RoleRef.Name] = true
		default:
			t.Fatalf("unexpected kind %q in rbac.yaml", meta.Kind)
		}
	}
	require.True(t, sa, "the ServiceAccount")
	require.Equal(t, roles, bound, "every role bound, no binding to a missing role")
	for _, block := range []string{"common", "detection", "lab", "servicescale", "hubble", "networkpolicy", "resources"} {
		require.True(t, roles["ClusterRole//kube-netbench:"+block] || roles["Role/kube-system/kube-netbench:"+block], block)
	}
}
