package cluster

import (
	"bytes"
	"crypto/rand"
	"embed"
	"fmt"
	"strings"
	"text/template"

	"k8s.io/apimachinery/pkg/util/version"
)

// KindVersion is the kind release the suite installs when none is on PATH,
// and the oldest it accepts there: the newest release the Go module proxy
// serves, whose node image has every API the suite uses (ServiceCIDR,
// networking.k8s.io/v1, is GA from Kubernetes 1.33).
const KindVersion = "v0.33.0"

// NodeImage is kind v0.33.0's default node image, pinned by digest: the
// Image constant of pkg/apis/config/defaults/image.go at that release
// (module sigs.k8s.io/kind@v0.33.0, h1:AjvDv3vOygb/VKLVQW87lfktIBzkxR8Ump9DjxC8+Lk=);
// release notes: https://github.com/kubernetes-sigs/kind/releases/tag/v0.33.0
const NodeImage = "kindest/node:v1.37.0@sha256:a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5"

// CiliumChartVersion is the Cilium Helm chart installed for the cilium-*
// dataplanes: the Cilium the lab runs (CILIUM_VERSION in
// scripts/lab-versions.env, kept equal by a test).
const CiliumChartVersion = "1.19.4"

// CiliumChartRepo is the Cilium project's Helm repository.
const CiliumChartRepo = "https://helm.cilium.io"

// KindPodSubnet is the cluster's pod range (kind's default, made explicit
// because Cilium's native routing CIDR must equal it).
const KindPodSubnet = "10.244.0.0/16"

// KindAPIServerPort is the port the API server listens on inside the
// control-plane container.
const KindAPIServerPort = 6443

// KindDataplaneEnv names the variable that picks the kind cluster's dataplane.
const KindDataplaneEnv = "KIND_DATAPLANE"

//go:embed kind/cluster.yaml kind/cilium-values.yaml
var kindFiles embed.FS

var kindTemplates = template.Must(template.New("").Option("missingkey=error").ParseFS(kindFiles, "kind/*.yaml"))

func renderKind(file string, data any) ([]byte, error) {
	var b bytes.Buffer
	if err := kindTemplates.ExecuteTemplate(&b, file, data); err != nil {
		return nil, fmt.Errorf("render %s: %w", file, err)
	}
	return b.Bytes(), nil
}

// KindConfig renders the kind cluster configuration for a dataplane:
// kube-proxy in that mode, or no kube-proxy and no default CNI for Cilium.
func KindConfig(d Dataplane) ([]byte, error) {
	if _, err := ParseDataplane(KindDataplaneEnv, string(d)); err != nil {
		return nil, err
	}
	mode, noCNI := string(d), false
	if d.Cilium() {
		mode, noCNI = "none", true
	}
	return renderKind("cluster.yaml", map[string]any{
		"PodSubnet": KindPodSubnet, "KubeProxyMode": mode, "DisableDefaultCNI": noCNI, "Image": NodeImage,
	})
}

// CiliumValues renders the Cilium chart's values for a cilium-* dataplane on
// the kind cluster named cluster.
func CiliumValues(d Dataplane, cluster string) ([]byte, error) {
	routing := map[Dataplane]string{CiliumOverlay: "tunnel", CiliumNative: "native"}[d]
	if routing == "" {
		return nil, fmt.Errorf("%s=%q: not a Cilium dataplane", KindDataplaneEnv, d)
	}
	return renderKind("cilium-values.yaml", map[string]any{
		"APIServerHost": KindControlPlane(cluster), "APIServerPort": KindAPIServerPort,
		"RoutingMode": routing, "PodSubnet": KindPodSubnet,
	})
}

// KindControlPlane is the name of a kind cluster's control-plane node (and
// container, resolvable on kind's container network).
func KindControlPlane(cluster string) string { return cluster + "-control-plane" }

// CheckKindVersion checks the output of `kind version` ("kind v0.33.0
// go1.24.5 linux/amd64") against KindVersion: an older kind may not know the
// pinned node image or the configuration the suite renders.
func CheckKindVersion(path, out string) error {
	fields := strings.Fields(out)
	if len(fields) < 2 || fields[0] != "kind" {
		return fmt.Errorf("%s version: unexpected output %q", path, strings.TrimSpace(out))
	}
	got, err := version.ParseSemantic(fields[1])
	if err != nil {
		return fmt.Errorf("%s version: %q: %w", path, fields[1], err)
	}
	if got.LessThan(version.MustParseSemantic(KindVersion)) {
		return fmt.Errorf("%s is kind %s; the suite needs kind %s or newer (for its node image %s): "+
			"upgrade it, or remove it from PATH and the suite installs %s with `go install`", path, fields[1], KindVersion, NodeImage, KindVersion)
	}
	return nil
}

// NewKindClusterName returns a name no earlier run used: netbench-<8 hex>.
func NewKindClusterName() (string, error) {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("kind cluster name: %w", err)
	}
	return fmt.Sprintf("netbench-%x", b), nil
}

// CheckKindNameFree fails when `kind get clusters` (its stdout) lists name:
// the run then did not create that cluster and must neither use nor delete it.
func CheckKindNameFree(name, clusters string) error {
	for _, c := range strings.Split(clusters, "\n") {
		if strings.TrimSpace(c) == name {
			return fmt.Errorf("a kind cluster named %s already exists; this run creates its own and leaves that one alone", name)
		}
	}
	return nil
}
