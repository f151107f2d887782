package kubeletapi

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSelfSignedCert(t *testing.T) {
	cert, err := SelfSignedCert([]string{"10.250.0.11", "nb-node-1"}, 24*time.Hour)
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	require.NoError(t, err)

	key, ok := cert.PrivateKey.(*ecdsa.PrivateKey)
	require.True(t, ok, "key is %T", cert.PrivateKey)
	assert.Equal(t, elliptic.P256(), key.Curve)
	assert.True(t, key.PublicKey.Equal(leaf.PublicKey), "the key matches the certificate")
	assert.Equal(t, []string{"nb-node-1"}, leaf.DNSNames)
	require.Len(t, leaf.IPAddresses, 1)
	assert.Equal(t, "10.250.0.11", leaf.IPAddresses[0].String())
	assert.WithinDuration(t, time.Now().Add(24*time.Hour), leaf.NotAfter, time.Minute)
	assert.True(t, leaf.NotBefore.Before(time.Now()))

	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	for _, name := range []string{"10.250.0.11", "nb-node-1"} {
		_, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		assert.NoError(t, err, "verify for %s", name)
	}
	_, err = leaf.Verify(x509.VerifyOptions{DNSName: "10.250.0.12", Roots: roots})
	assert.Error(t, err, "another node's IP")
}

func TestSelfSignedCertErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		hosts    []string
		validFor time.Duration
		want     string
	}{
		"no hosts":       {nil, time.Hour, "no hosts"},
		"empty host":     {[]string{"10.0.0.1", ""}, time.Hour, "empty host"},
		"no validity":    {[]string{"10.0.0.1"}, 0, "not positive"},
		"negative valid": {[]string{"10.0.0.1"}, -time.Hour, "not positive"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := SelfSignedCert(tc.hosts, tc.validFor)
			require.Error(t, err)
			assert.True(t, strings.Contains(err.Error(), tc.want), "error %q lacks %q", err, tc.want)
		})
	}
}
