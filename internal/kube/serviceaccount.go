package kube

import (
	"context"
	"errors"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
)

// RequestToken asks the TokenRequest API for a token of ServiceAccount
// ns/name valid for d, and returns it with its expiry. The apiserver may
// shorten d (--service-account-max-token-expiration): an expiry earlier
// than asked is an error, since a token that expires mid-run turns every
// later request into Unauthorized.
func RequestToken(ctx context.Context, c kubernetes.Interface, ns, name string, d time.Duration) (string, time.Time, error) {
	if d < 10*time.Minute {
		return "", time.Time{}, fmt.Errorf("token lifetime %s: the TokenRequest API needs at least 10m", d)
	}
	asked := time.Now().Add(d)
	tr, err := c.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(d / time.Second))},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("token for ServiceAccount %s/%s: %w", ns, name, err)
	}
	if tr.Status.Token == "" {
		return "", time.Time{}, fmt.Errorf("token for ServiceAccount %s/%s: the apiserver returned an empty token", ns, name)
	}
	exp := tr.Status.ExpirationTimestamp.Time
	if exp.Before(asked.Add(-time.Minute)) {
		return "", time.Time{}, fmt.Errorf("token for ServiceAccount %s/%s expires at %s, before the %s asked for (the apiserver's --service-account-max-token-expiration?)",
			ns, name, exp.Format(time.RFC3339), d)
	}
	return tr.Status.Token, exp, nil
}

// TokenKubeconfig is admin's current context with its user replaced by a
// bearer token, named user: the same server and CA, nothing of the admin's
// credentials.
func TokenKubeconfig(admin *clientcmdapi.Config, user, token string) (*clientcmdapi.Config, error) {
	if token == "" {
		return nil, errors.New("token kubeconfig: empty token")
	}
	ctx, ok := admin.Contexts[admin.CurrentContext]
	if !ok {
		return nil, fmt.Errorf("token kubeconfig: the admin kubeconfig has no current context (%q)", admin.CurrentContext)
	}
	cluster, ok := admin.Clusters[ctx.Cluster]
	if !ok {
		return nil, fmt.Errorf("token kubeconfig: context %q names cluster %q, which the admin kubeconfig does not have", admin.CurrentContext, ctx.Cluster)
	}
	out := clientcmdapi.NewConfig()
	out.Clusters[ctx.Cluster] = cluster.DeepCopy()
	out.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: token}
	out.Contexts[user] = &clientcmdapi.Context{Cluster: ctx.Cluster, AuthInfo: user, Namespace: ctx.Namespace}
	out.CurrentContext = user
	return out, nil
}
