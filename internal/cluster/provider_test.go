package cluster

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSelect(t *testing.T) {
	sep := string(os.PathListSeparator)
	cases := []struct {
		value, kubeconfig string
		want              Provider
		err               string
	}{
		{"", "", Lab, ""},
		{"", "/k", Existing, ""},
		{"existing", "/k", Existing, ""},
		{"existing", "", "", "PROVIDER=existing needs a kubeconfig"},
		{"kind", "", Kind, ""},
		{"lab", "/k", "", "PROVIDER=lab creates its own cluster, but a kubeconfig (/k) names another"},
		{"", "/a" + sep + "/b", Existing, ""},
		{"existing", sep + "/b" + sep, Existing, ""},
		{"", sep + sep, Lab, ""},
		{"existing", sep, "", "PROVIDER=existing needs a kubeconfig"},
		{"kind", "/a" + sep + "/b", "", "PROVIDER=kind creates its own cluster, but a kubeconfig (/a" + sep + "/b) names another"},
		{"minikube", "", "", `PROVIDER="minikube": unknown provider; allowed: lab, kind, existing`},
	}
	for _, tc := range cases {
		got, err := Select(tc.value, tc.kubeconfig)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, "%+v", tc)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tc.want, got)
	}
}

func TestSelectIdentity(t *testing.T) {
	for v, want := range map[string]Identity{"": AsServiceAccount, "serviceaccount": AsServiceAccount, "admin": AsAdmin} {
		got, err := SelectIdentity(v)
		require.NoError(t, err)
		require.Equal(t, want, got, v)
	}
	_, err := SelectIdentity("root")
	require.EqualError(t, err, `LAB_AS="root": unknown identity; allowed: serviceaccount (the default), admin`)
}
