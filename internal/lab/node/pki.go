package node

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/util/keyutil"
)

// Certificate file names under Config.Dir.
const (
	ClientCertFile  = "kubelet-client.crt"
	ClientKeyFile   = "kubelet-client.key"
	ServingCertFile = "kubelet-serving.crt"
	ServingKeyFile  = "kubelet-serving.key"
)

// IssueCerts writes the node's credentials into dir, signed by the cluster
// CA (caCertFile, caKeyFile): a client certificate for system:node:<name> in
// system:nodes, which the Node authorizer and NodeRestriction admit as that
// node, and the kubelet's serving certificate for the node's IP and name.
// It sets c's certificate fields accordingly.
func (c *Config) IssueCerts(caCertFile, caKeyFile string, validFor time.Duration) error {
	ca, key, err := loadCA(caCertFile, caKeyFile)
	if err != nil {
		return err
	}
	now := time.Now()
	client := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "system:node:" + c.Name, Organization: []string{"system:nodes"}},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	serving := &x509.Certificate{
		Subject:     pkix.Name{CommonName: c.Name, Organization: []string{"system:nodes"}},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{c.Name},
		IPAddresses: []net.IP{net.IP(c.IP.AsSlice())},
	}
	for _, t := range []struct {
		tmpl            *x509.Certificate
		certF, keyF     string
		certDst, keyDst *string
	}{
		{client, ClientCertFile, ClientKeyFile, &c.CertFile, &c.KeyFile},
		{serving, ServingCertFile, ServingKeyFile, &c.ServingCertFile, &c.ServingKeyFile},
	} {
		serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
		if err != nil {
			return err
		}
		t.tmpl.SerialNumber = serial
		// An hour back for clock skew between the node's and the CA's view.
		t.tmpl.NotBefore, t.tmpl.NotAfter = now.Add(-time.Hour), now.Add(validFor)
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		der, err := x509.CreateCertificate(rand.Reader, t.tmpl, ca, &k.PublicKey, key)
		if err != nil {
			return fmt.Errorf("node %s: sign %s: %w", c.Name, t.certF, err)
		}
		kder, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return err
		}
		*t.certDst, *t.keyDst = filepath.Join(c.Dir, t.certF), filepath.Join(c.Dir, t.keyF)
		if err := os.WriteFile(*t.certDst, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
			return err
		}
		if err := os.WriteFile(*t.keyDst, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
			return err
		}
	}
	c.CAFile = caCertFile
	return nil
}

func loadCA(certFile, keyFile string) (*x509.Certificate, crypto.Signer, error) {
	b, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster CA: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, nil, fmt.Errorf("cluster CA %s: no PEM certificate", certFile)
	}
	ca, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster CA %s: %w", certFile, err)
	}
	k, err := keyutil.PrivateKeyFromFile(keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster CA key: %w", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("cluster CA key %s cannot sign (%T)", keyFile, k)
	}
	return ca, s, nil
}
