package kube

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// tokenAPI answers TokenRequests with token, expiring after the lifetime
// asked for, capped at max (the apiserver's maximum), and records the
// request.
func tokenAPI(token string, max time.Duration, got *authenticationv1.TokenRequest) *fake.Clientset {
	c := fake.NewClientset()
	c.PrependReactor("create", "serviceaccounts", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "token" {
			return false, nil, nil
		}
		tr := a.(k8stesting.CreateAction).GetObject().(*authenticationv1.TokenRequest).DeepCopy()
		*got = *tr
		d := min(time.Duration(*tr.Spec.ExpirationSeconds)*time.Second, max)
		tr.Status = authenticationv1.TokenRequestStatus{Token: token, ExpirationTimestamp: metav1.NewTime(time.Now().Add(d))}
		return true, tr, nil
	})
	return c
}

func TestRequestToken(t *testing.T) {
	ctx := context.Background()
	var got authenticationv1.TokenRequest
	tok, exp, err := RequestToken(ctx, tokenAPI("t0k", 48*time.Hour, &got), "kube-netbench", "kube-netbench", 2*time.Hour)
	require.NoError(t, err)
	require.Equal(t, "t0k", tok)
	require.Equal(t, int64(7200), *got.Spec.ExpirationSeconds)
	require.WithinDuration(t, time.Now().Add(2*time.Hour), exp, time.Minute)

	_, _, err = RequestToken(ctx, tokenAPI("t0k", time.Hour, &got), "kube-netbench", "kube-netbench", 2*time.Hour)
	require.ErrorContains(t, err, "before the 2h0m0s asked for", "a token capped below the run's length")

	_, _, err = RequestToken(ctx, tokenAPI("", 48*time.Hour, &got), "kube-netbench", "kube-netbench", 2*time.Hour)
	require.ErrorContains(t, err, "empty token")

	_, _, err = RequestToken(ctx, tokenAPI("t0k", 48*time.Hour, &got), "kube-netbench", "kube-netbench", time.Minute)
	require.ErrorContains(t, err, "at least 10m")
}

func TestTokenKubeconfig(t *testing.T) {
	admin := clientcmdapi.NewConfig()
	admin.Clusters["lab"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:6443", CertificateAuthority: "/lab/pki/ca.crt"}
	admin.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificate: "/lab/pki/admin.crt", ClientKey: "/lab/pki/admin.key"}
	admin.Contexts["lab"] = &clientcmdapi.Context{Cluster: "lab", AuthInfo: "admin"}
	admin.CurrentContext = "lab"

	got, err := TokenKubeconfig(admin, "kube-netbench", "t0k")
	require.NoError(t, err)
	require.Equal(t, "kube-netbench", got.CurrentContext)
	require.Equal(t, admin.Clusters["lab"], got.Clusters["lab"], "same server and CA")
	require.Equal(t, map[string]*clientcmdapi.AuthInfo{"kube-netbench": {Token: "t0k"}}, got.AuthInfos, "none of the admin's credentials")
	require.Equal(t, "lab", got.Contexts["kube-netbench"].Cluster)

	_, err = TokenKubeconfig(admin, "kube-netbench", "")
	require.ErrorContains(t, err, "empty token")
	admin.CurrentContext = "gone"
	_, err = TokenKubeconfig(admin, "kube-netbench", "t0k")
	require.ErrorContains(t, err, `no current context ("gone")`)
}
