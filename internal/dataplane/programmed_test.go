package dataplane

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"kube-netbench/internal/podexec"
)

// fileExec answers every exec with a captured output file and records the
// commands it was asked to run.
type fileExec struct {
	file string
	ran  []string
}

func (f *fileExec) Exec(_ context.Context, t podexec.Target, argv []string, _ io.Reader, stdout, _ io.Writer) error {
	f.ran = append(f.ran, t.Pod+": "+strings.Join(argv, " "))
	b, err := os.ReadFile(f.file)
	if err != nil {
		return err
	}
	_, err = stdout.Write(b)
	return err
}

func TestReadKubeProxyProgrammed(t *testing.T) {
	cases := []struct {
		mode, file, argv string
		watch            string
	}{
		{"iptables", "iptables-save-nat.txt", "iptables-save -t nat", "10.96.100.3"},
		{"nftables", "nft-service-ips.txt", "nft list map ip kube-proxy service-ips", "10.96.100.3"},
	}
	for _, tc := range cases {
		t.Run(tc.mode, func(t *testing.T) {
			e := &fileExec{file: "../../testdata/kube-proxy/" + tc.file}
			kp := &KubeProxy{Mode: tc.mode, Pods: map[string]string{"n1": "kube-proxy-a"}}
			got, err := ReadKubeProxyProgrammed(context.Background(), e, kp, []string{tc.watch, "10.1.2.3"})
			require.NoError(t, err)
			require.Equal(t, []string{"kube-proxy-a: " + tc.argv}, e.ran)
			require.Len(t, got, 1)
			require.Equal(t, "n1", got[0].Node)
			require.Positive(t, got[0].ClusterIPs)
			pos, ok := got[0].Position[tc.watch]
			require.True(t, ok, "the watched ClusterIP is programmed")
			require.LessOrEqual(t, pos, got[0].ClusterIPs)
			_, ok = got[0].Position["10.1.2.3"]
			require.False(t, ok, "an address that is not programmed has no position")
			t.Logf("%s: %d ClusterIP entries, %s at %d", tc.mode, got[0].ClusterIPs, tc.watch, pos)
		})
	}
	_, err := ReadKubeProxyProgrammed(context.Background(), &fileExec{}, &KubeProxy{Mode: "ipvs"}, nil)
	require.ErrorContains(t, err, "not implemented for kube-proxy ipvs mode")
	_, err = ReadKubeProxyProgrammed(context.Background(), &fileExec{file: "../../testdata/kube-proxy/iptables-save-nat-empty.txt"},
		&KubeProxy{Mode: "nftables", Pods: map[string]string{"n1": "p"}}, nil)
	require.Error(t, err, "iptables output is not an nft map")
}

func TestReadCiliumProgrammed(t *testing.T) {
	b, err := os.ReadFile("../../testdata/cilium/service-list-native-idle.json")
	require.NoError(t, err)
	var asked []string
	e := execFunc(func(_ context.Context, tg podexec.Target, argv []string, _ io.Reader, stdout, _ io.Writer) error {
		asked = append(asked, tg.Pod+" "+tg.Container+": "+strings.Join(argv, " "))
		_, err := stdout.Write(b)
		return err
	})
	det := Detection{Kind: CiliumNative, Cilium: &Cilium{KubeProxyReplacement: "True", Pods: map[string]string{"n1": "cilium-a"}}}
	got, err := ReadProgrammed(context.Background(), e, det, []string{"10.96.0.1", "10.96.9.9"})
	require.NoError(t, err)
	require.Equal(t, []string{"cilium-a cilium-agent: cilium-dbg service list -o json"}, asked)
	require.Equal(t, []Programmed{{Node: "n1", ClusterIPs: 1, Position: map[string]int{"10.96.0.1": 0}, Source: "cilium-dbg service list -o json"}}, got)

	_, err = ReadProgrammed(context.Background(), e, Detection{Kind: CiliumNative, Cilium: &Cilium{KubeProxyReplacement: "False"}}, nil)
	require.ErrorContains(t, err, "neither Cilium with kube-proxy replacement nor kube-proxy found")
}

// TestConverged: the wait counts the run's own ClusterIPs, so other
// Services created or deleted meanwhile (a shared cluster) neither stall nor
// end it early; deleted ones must be gone.
func TestConverged(t *testing.T) {
	want, gone := []string{"10.96.0.20", "10.96.0.21"}, []string{"10.96.0.30"}
	node := func(name string, others int, ips ...string) Programmed {
		p := Programmed{Node: name, Position: map[string]int{}, ClusterIPs: others + len(ips)}
		for i, ip := range ips {
			p.Position[ip] = i + 1
		}
		return p
	}
	ok, why := Converged([]Programmed{node("n1", 7, want...), node("n2", 900, want...)}, want, gone)
	require.True(t, ok, why)
	require.Equal(t, "n1 2/2 of the run's, 0 deleted still there, 7 others; n2 2/2 of the run's, 0 deleted still there, 900 others", why)
	ok, why = Converged([]Programmed{node("n1", 7, want...), node("n2", 3, "10.96.0.20", "10.96.0.30")}, want, gone)
	require.False(t, ok)
	require.Contains(t, why, "n2 1/2 of the run's, 1 deleted still there, 3 others")
	ok, _ = Converged(nil, want, gone)
	require.False(t, ok, "no reading is not convergence")
}

// TestProgrammedReadable: where the programmed state cannot be read, the
// dimensions that need it skip with the reason instead of failing later.
func TestProgrammedReadable(t *testing.T) {
	for _, tc := range []struct {
		name string
		det  Detection
		err  string
	}{
		{"iptables", Detection{Kind: KubeProxyIptables, KubeProxy: &KubeProxy{Mode: ModeIPTables}}, ""},
		{"nftables", Detection{Kind: KubeProxyNftables, KubeProxy: &KubeProxy{Mode: ModeNFTables}}, ""},
		{"ipvs", Detection{Kind: KubeProxyIPVS, KubeProxy: &KubeProxy{Mode: ModeIPVS}}, "kube-proxy ipvs: reading the programmed IPVS virtual servers is not implemented"},
		{"k3s", Detection{Kind: KubeProxyIptables, KubeProxy: &KubeProxy{Mode: ModeIPTables, Embedded: true}}, "not in a pod"},
		{"cilium", Detection{Kind: CiliumOverlay, Cilium: &Cilium{KubeProxyReplacement: "True"}}, ""},
		{"GKE Dataplane V2, agent unreadable", Detection{Kind: GKEDataplaneV2, Cilium: &Cilium{KubeProxyReplacement: "True", Managed: GKEDataplaneV2Name, Unreadable: "no cilium-dbg"}},
			"GKE Dataplane V2: the agent cannot be read (no cilium-dbg)"},
		{"nothing", Detection{Kind: "x"}, "neither Cilium with kube-proxy replacement nor kube-proxy found"},
	} {
		err := tc.det.ProgrammedReadable()
		if tc.err == "" {
			require.NoError(t, err, tc.name)
		} else {
			require.ErrorContains(t, err, tc.err, tc.name)
		}
	}
}
