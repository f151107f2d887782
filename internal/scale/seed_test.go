package scale

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// docs splits a generated file into its YAML documents.
func docs(t *testing.T, data []byte) [][]byte {
	t.Helper()
	parts := bytes.Split(data, []byte("\n---\n"))
	for i := range parts {
		parts[i] = append(bytes.TrimSpace(parts[i]), '\n')
	}
	return parts
}

func kindOf(t *testing.T, doc []byte) string {
	t.Helper()
	var tm metav1.TypeMeta
	require.NoError(t, yaml.Unmarshal(doc, &tm))
	require.Equal(t, "v1", tm.APIVersion)
	return tm.Kind
}

func seedPlan() Plan {
	p := testPlan("r1")
	p.PerNamespace, p.MaxServices = 1000, 1200
	return p
}

func TestSeedFiles(t *testing.T) {
	p := seedPlan()
	ns, batches, err := SeedFiles(p, 0, 1200)
	require.NoError(t, err)

	require.Equal(t, "namespaces.yaml", ns.Name)
	var nsNames []string
	for _, d := range docs(t, ns.Data) {
		require.Equal(t, "Namespace", kindOf(t, d))
		var n corev1.Namespace
		require.NoError(t, yaml.UnmarshalStrict(d, &n))
		require.Equal(t, map[string]string{"netbench.io/managed-by": "kube-netbench", "netbench.io/run": "r1",
			"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/warn": "restricted",
			"pod-security.kubernetes.io/audit": "restricted"}, n.Labels)
		nsNames = append(nsNames, n.Name)
	}
	require.Equal(t, []string{"nb-scale-r1-0", "nb-scale-r1-1"}, nsNames)

	require.Len(t, batches, 3)
	i := 0
	for b, f := range batches {
		require.Equal(t, []string{"batch_0000.yaml", "batch_0001.yaml", "batch_0002.yaml"}[b], f.Name)
		require.Equal(t, []int{500, 500, 200}[b], f.Services)
		ds := docs(t, f.Data)
		require.Len(t, ds, 2*f.Services, "a Service and its Endpoints each")
		for k := 0; k < len(ds); k, i = k+2, i+1 {
			require.Equal(t, "Service", kindOf(t, ds[k]))
			require.Equal(t, "Endpoints", kindOf(t, ds[k+1]))
			var svc corev1.Service
			require.NoError(t, yaml.UnmarshalStrict(ds[k], &svc))
			var ep corev1.Endpoints
			require.NoError(t, yaml.UnmarshalStrict(ds[k+1], &ep))

			require.Equal(t, ServiceName(i), svc.Name)
			require.Equal(t, p.Namespace(i), svc.Namespace)
			require.Equal(t, Labels("r1"), svc.Labels)
			require.Empty(t, svc.Spec.Type, "as the seed: the type defaults to ClusterIP")
			require.Empty(t, svc.Spec.Selector)
			require.Empty(t, svc.Spec.ClusterIP)
			require.Equal(t, []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(80), Protocol: corev1.ProtocolTCP}}, svc.Spec.Ports)

			require.Equal(t, svc.ObjectMeta, ep.ObjectMeta)
			require.Len(t, ep.Subsets, 1)
			require.Equal(t, []corev1.EndpointPort{{Port: 80, Protocol: corev1.ProtocolTCP}}, ep.Subsets[0].Ports)
			want, err := p.addrs(i)
			require.NoError(t, err)
			require.Len(t, ep.Subsets[0].Addresses, len(want))
			for e, a := range ep.Subsets[0].Addresses {
				require.Equal(t, want[e].String(), a.IP)
			}
		}
	}
	require.Equal(t, 1200, i)

	// A later step starts its batches at its own first index.
	ns, batches, err = SeedFiles(p, 900, 1100)
	require.NoError(t, err)
	require.Equal(t, 2, bytes.Count(ns.Data, []byte("kind: Namespace")))
	require.Len(t, batches, 1)
	first := docs(t, batches[0].Data)[0]
	require.Contains(t, string(first), "name: dummy-900\n")
	require.Contains(t, string(first), "namespace: nb-scale-r1-0\n")
	require.Contains(t, string(batches[0].Data), "name: dummy-1099\n")
	require.NotContains(t, string(batches[0].Data), "name: dummy-1100\n")

	_, _, err = SeedFiles(p, 0, 1201)
	require.ErrorContains(t, err, "MaxServices (1200)")
}

func TestSeedArgv(t *testing.T) {
	require.Equal(t, []string{"--kubeconfig", "/k/config", "apply", "--validate=false", "-f", "/d/batch_0000.yaml"},
		seedArgv("/k/config", "/d/batch_0000.yaml"))
	require.Equal(t, []string{"apply", "--validate=false", "-f", "f.yaml"}, seedArgv("", "f.yaml"))
}

func TestParseApply(t *testing.T) {
	rep := parseApply("service/dummy-0 created\nendpoints/dummy-0 created\nservice/dummy-1 unchanged\n"+
		"endpoints/dummy-1 configured\nnamespace/nb-scale-r1-0 created\n\n",
		"Warning: v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice\n"+
			`Error from server (Forbidden): error when creating "b.yaml": services "dummy-2" is forbidden`+"\n")
	require.Equal(t, map[string]int{"service": 1, "endpoints": 1, "namespace": 1}, rep.created)
	require.Equal(t, map[string]int{"service": 1, "endpoints": 1}, rep.existing)
	require.Equal(t, []string{"v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"}, rep.warnings)
	require.Equal(t, []string{`stderr: Error from server (Forbidden): error when creating "b.yaml": services "dummy-2" is forbidden`}, rep.problems)

	rep = parseApply("something odd\n", "")
	require.Equal(t, []string{"stdout: something odd"}, rep.problems)
}

// fakeKubectl writes a stand-in for kubectl that logs its argv, reports
// every object of the -f file as kubectl apply does and warns about
// Endpoints once. FAKE_KUBECTL_FAIL=<file base name> makes it fail on that
// file; FAKE_KUBECTL_DROP=<name> leaves that Service out of its report.
func fakeKubectl(t *testing.T) (path, log string) {
	t.Helper()
	if _, err := exec.LookPath("awk"); err != nil {
		t.Skip("needs awk for the fake kubectl")
	}
	dir := t.TempDir()
	path, log = filepath.Join(dir, "kubectl"), filepath.Join(dir, "argv.log")
	script := `#!/bin/sh
echo "$@" >> "` + log + `"
file=""
while [ $# -gt 0 ]; do
	if [ "$1" = "-f" ]; then file="$2"; shift; fi
	shift
done
if [ -n "$FAKE_KUBECTL_FAIL" ] && [ "$(basename "$file")" = "$FAKE_KUBECTL_FAIL" ]; then
	echo 'Error from server (Forbidden): error when creating "'"$file"'": services "dummy-0" is forbidden: exceeded quota' >&2
	exit 1
fi
awk -v drop="$FAKE_KUBECTL_DROP" '/^kind: /{kind=tolower($2)} /^  name: /{ if (!(kind == "service" && $2 == drop)) print kind "/" $2 " created" }' "$file"
if grep -q '^kind: Endpoints' "$file"; then
	echo 'Warning: v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice' >&2
fi
`
	require.NoError(t, os.WriteFile(path, []byte(script), 0o755))
	return path, log
}

func TestSeedMethod(t *testing.T) {
	kubectl, log := fakeKubectl(t)
	p := seedPlan()
	dir := filepath.Join(t.TempDir(), "seed")
	s, err := SeedMethod(context.Background(), kubectl, "/k/config", p, 0, 1200, dir)
	require.NoError(t, err)
	require.Equal(t, 1200, s.Services)
	require.Equal(t, 1200, s.Slices, "the Endpoints objects")
	require.Equal(t, 2, s.Namespaces)
	require.Zero(t, s.Failed+s.Existing)
	require.Equal(t, 3, s.BatchLatency.N)
	require.Positive(t, s.ServicesPerSec)
	require.Equal(t, []string{"kubectl: v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice (x3)"}, s.Warnings)

	argv, err := os.ReadFile(log)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(argv)), "\n")
	require.Len(t, lines, 4)
	require.Equal(t, "--kubeconfig /k/config apply --validate=false -f "+filepath.Join(dir, "namespaces.yaml"), lines[0],
		"the namespaces first, so parallel batches find them")
	require.ElementsMatch(t, []string{
		"--kubeconfig /k/config apply --validate=false -f " + filepath.Join(dir, "batch_0000.yaml"),
		"--kubeconfig /k/config apply --validate=false -f " + filepath.Join(dir, "batch_0001.yaml"),
		"--kubeconfig /k/config apply --validate=false -f " + filepath.Join(dir, "batch_0002.yaml"),
	}, lines[1:])
	for _, f := range []string{"namespaces.yaml", "batch_0000.yaml", "batch_0001.yaml", "batch_0002.yaml"} {
		require.FileExists(t, filepath.Join(dir, f), "the files stay as the run's raw data")
	}
}

func TestSeedMethodChecksEveryBatch(t *testing.T) {
	kubectl, _ := fakeKubectl(t)
	p := seedPlan()

	t.Setenv("FAKE_KUBECTL_FAIL", "batch_0001.yaml")
	s, err := SeedMethod(context.Background(), kubectl, "", p, 0, 1200, t.TempDir())
	require.ErrorContains(t, err, "seed method, run r1, Services [0, 1200): 1 of 3 batch files failed (500 Services unconfirmed)")
	require.ErrorContains(t, err, "batch_0001.yaml: exit status 1; stderr: Error from server (Forbidden)")
	require.ErrorContains(t, err, "exceeded quota")
	require.Equal(t, 700, s.Services, "the other batches still ran, as in the seed")
	require.Equal(t, 500, s.Failed)

	t.Setenv("FAKE_KUBECTL_FAIL", "")
	t.Setenv("FAKE_KUBECTL_DROP", "dummy-42")
	s, err = SeedMethod(context.Background(), kubectl, "", p, 0, 1200, t.TempDir())
	require.ErrorContains(t, err, "batch_0000.yaml: kubectl reported 499 Services and 500 Endpoints created or unchanged, want 500 each")
	require.Equal(t, 1199, s.Services)
	require.Equal(t, 1, s.Failed)

	t.Setenv("FAKE_KUBECTL_DROP", "")
	_, err = SeedMethod(context.Background(), filepath.Join(t.TempDir(), "no-kubectl"), "", p, 0, 10, t.TempDir())
	require.ErrorContains(t, err, "namespaces.yaml: fork/exec")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	_, err = SeedMethod(ctx, kubectl, "", p, 0, 1200, t.TempDir())
	require.ErrorIs(t, err, context.Canceled)
	require.Less(t, time.Since(start), 5*time.Second)
}
