package dataplane

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// testdataYAML decodes a captured object of testdata/kube-proxy.
func testdataYAML(t *testing.T, name string, into any) {
	t.Helper()
	require.NoError(t, yaml.Unmarshal([]byte(testdata(t, name)), into))
}

// daemonSetPod is the pod a captured DaemonSet runs, and its container's argv.
func daemonSetPod(t *testing.T, name string) (*corev1.Pod, []string) {
	var ds appsv1.DaemonSet
	testdataYAML(t, name, &ds)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ds.Namespace, Name: ds.Name + "-x"}, Spec: ds.Spec.Template.Spec}
	c := pod.Spec.Containers[0]
	return pod, append(append([]string{}, c.Command...), c.Args...)
}

func TestKubeProxyModeFromArgsCaptured(t *testing.T) {
	_, kubeadm := daemonSetPod(t, "kubeadm-v1.34.daemonset.yaml")
	_, eks := daemonSetPod(t, "eks-kube-proxy.daemonset.yaml")
	var gke corev1.Pod
	testdataYAML(t, "gke-v1.34.static-pod.yaml", &gke)
	k3s, err := KubeProxyArgsFromSupervisorLog(testdata(t, "k3s-v1.30.5.journal.log"))
	require.NoError(t, err)
	cases := []struct {
		name         string
		argv         []string
		mode, config string
		explicit     bool
	}{
		{name: "kubeadm: the config file decides", argv: kubeadm, config: "/var/lib/kube-proxy/config.conf"},
		{name: "EKS: sh -c with --config", argv: eks, config: "/var/lib/kube-proxy-config/config"},
		// GKE sets neither: kube-proxy runs its version's default.
		{name: "GKE: sh -c exec ... 1>>log 2>&1, no mode", argv: append(gke.Spec.Containers[0].Command, gke.Spec.Containers[0].Args...)},
		{name: "RKE2: process command line", argv: strings.Fields(testdata(t, "rke2-v1.23.9.cmdline.txt")), mode: ModeIPTables, explicit: true},
		{name: "k3s: args from its journal", argv: k3s, mode: ModeIPTables, explicit: true},
		// kubernetes/kubernetes#89126: --proxy-mode=ipvs with --config ran iptables.
		{name: "EKS: --config and --proxy-mode, the config wins", argv: strings.Split(strings.TrimSuffix(testdata(t, "eks-1.14-config-and-proxy-mode.argv.txt"), "\n"), "\n"),
			config: "/var/lib/kube-proxy-config/config"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mode, config, explicit, err := KubeProxyModeFromArgs(tc.argv)
			require.NoError(t, err)
			require.Equal(t, tc.mode, mode)
			require.Equal(t, tc.config, config)
			require.Equal(t, tc.explicit, explicit)
		})
	}
	require.Equal(t, "kube-proxy", gke.Labels["component"], "GKE's static pod has no k8s-app label")
}

func TestKubeProxyModeFromArgs(t *testing.T) {
	cases := []struct {
		name         string
		argv         []string
		mode, config string
		err          string
	}{
		{name: "flag and value apart", argv: []string{"kube-proxy", "--proxy-mode", "ipvs"}, mode: ModeIPVS},
		{name: "underscore as pflag normalizes it", argv: []string{"/usr/local/bin/kube-proxy", "--proxy_mode=nftables"}, mode: ModeNFTables},
		{name: "last one wins", argv: []string{"kube-proxy", "--proxy-mode=ipvs", "--v", "2", "--proxy-mode=nftables"}, mode: ModeNFTables},
		{name: "empty --config is no config file", argv: []string{"kube-proxy", "--config=", "--proxy-mode=ipvs"}, mode: ModeIPVS},
		{name: "empty --proxy-mode is the default", argv: []string{"kube-proxy", "--proxy-mode="}},
		{name: "config given apart, invalid flag ignored as kube-proxy does", argv: []string{"kube-proxy", "--proxy-mode=userspace", "--config", "/c.yaml"}, config: "/c.yaml"},
		{name: "args alone", argv: []string{"--proxy-mode=ipvs"}, mode: ModeIPVS},
		{name: "flags after -- are not flags", argv: []string{"kube-proxy", "--", "--proxy-mode=ipvs"}},
		{name: "go-runner wrapper", argv: []string{"/go-runner", "--log-file=/var/log/kube-proxy.log", "--also-stdout=true", "--", "/usr/local/bin/kube-proxy", "--proxy-mode=nftables"}, mode: ModeNFTables},
		{name: "hyperkube", argv: []string{"/hyperkube", "kube-proxy", "--proxy-mode=iptables"}, mode: ModeIPTables},
		// openshift/cluster-network-operator bindata/kube-proxy/kube-proxy.yaml.
		{name: "OpenShift: bash -c exec with a quoted variable", argv: []string{"/bin/bash", "-c", `exec /usr/bin/kube-proxy --config=/config/kube-proxy-config.yaml --hostname-override "${K8S_NODE_NAME}"`},
			config: "/config/kube-proxy-config.yaml"},
		// kubernetes PR #41700's kube-up manifest: a command before kube-proxy.
		{name: "shell: command list", argv: []string{"/bin/sh", "-c", `echo -998 > /proc/$$$/oom_score_adj && kube-proxy --proxy-mode='ipvs' 1>>/var/log/kube-proxy.log 2>&1`}, mode: ModeIPVS},
		{name: "shell: quotes, escapes, continuation, comment", argv: []string{"sh", "-ec", "# start\nexec kube-proxy \\\n  --proxy-mode \"nft\"'ables' --v=\"2\\\"\" ; echo done"}, mode: ModeNFTables},

		{name: "empty", argv: nil, err: "kube-proxy command: empty"},
		{name: "not kube-proxy", argv: []string{"/bin/sh", "-c", "sleep infinity"}, err: `no kube-proxy executable in it`},
		{name: "old hyperkube proxy", argv: []string{"/hyperkube", "proxy", "--proxy-mode=iptables"}, err: `no kube-proxy executable in it`},
		{name: "unterminated quote", argv: []string{"/bin/sh", "-c", `kube-proxy --proxy-mode="ipvs`}, err: "without closing quote"},
		{name: "no value", argv: []string{"kube-proxy", "--proxy-mode"}, err: "--proxy-mode without a value"},
		{name: "kubelet variable", argv: []string{"kube-proxy", "--proxy-mode=$(MODE)"}, err: "--proxy-mode=$(MODE) depends on the environment"},
		{name: "shell variable", argv: []string{"sh", "-c", "kube-proxy --config $CONF"}, err: "--config=$CONF depends on the environment"},
		{name: "Windows mode", argv: []string{"kube-proxy", "--proxy-mode=kernelspace"}, err: `--proxy-mode=kernelspace: kube-proxy on Linux accepts iptables, nftables, ipvs or blank`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mode, config, explicit, err := KubeProxyModeFromArgs(tc.argv)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				require.Empty(t, mode+config)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.mode, mode)
			require.Equal(t, tc.config, config)
			require.Equal(t, tc.mode != "", explicit)
		})
	}
}

func TestKubeProxyArgsFromSupervisorLog(t *testing.T) {
	line := strings.TrimSuffix(testdata(t, "k3s-v1.30.5.journal.log"), "\n")
	args, err := KubeProxyArgsFromSupervisorLog(line)
	require.NoError(t, err)
	require.Equal(t, "--cluster-cidr=10.42.0.0/16", args[0])
	require.Equal(t, "--proxy-mode=iptables", args[len(args)-1])

	// A restart with --kube-proxy-arg=proxy-mode=ipvs: the last line counts.
	restarted := strings.ReplaceAll(line, "--proxy-mode=iptables", "--proxy-mode=ipvs")
	args, err = KubeProxyArgsFromSupervisorLog(line + "\n" + restarted + "\n")
	require.NoError(t, err)
	require.Equal(t, "--proxy-mode=ipvs", args[len(args)-1])

	// k3s on a terminal: logrus's text format without quotes (k3s-io/k3s#3977).
	args, err = KubeProxyArgsFromSupervisorLog(`INFO[2021-09-08T22:37:47.737118444Z] Running kube-proxy --cluster-cidr=10.41.0.0/16 --proxy-mode=iptables`)
	require.NoError(t, err)
	require.Equal(t, []string{"--cluster-cidr=10.41.0.0/16", "--proxy-mode=iptables"}, args)

	_, err = KubeProxyArgsFromSupervisorLog(line[:200])
	require.ErrorContains(t, err, `"Running kube-proxy" line 1 is cut short`)
	_, err = KubeProxyArgsFromSupervisorLog(testdata(t, "running-tail.log"))
	require.ErrorContains(t, err, `no "Running kube-proxy" line`)
}

func TestKubeProxyConfigFromConfigMaps(t *testing.T) {
	var kubeadm, eks corev1.ConfigMap
	testdataYAML(t, "kubeadm-v1.34-kube-proxy.configmap.yaml", &kubeadm)
	testdataYAML(t, "eks-kube-proxy-config.configmap.yaml", &eks)
	// EKS's ConfigMap "kube-proxy" holds the kubeconfig only (see the
	// captured DaemonSet's volumes); made up here, not captured.
	eksKubeconfig := corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kube-proxy"}, Data: map[string]string{"kubeconfig": "kind: Config\n"}}

	cases := []struct {
		name     string
		cms      []corev1.ConfigMap
		from     string
		mode     string
		explicit bool
		err      string
	}{
		{name: "kubeadm, mode blank", cms: []corev1.ConfigMap{kubeadm}, from: "ConfigMap kube-system/kube-proxy key config.conf"},
		{name: "EKS", cms: []corev1.ConfigMap{eksKubeconfig, eks}, from: "ConfigMap kube-system/kube-proxy-config key config", mode: ModeIPTables, explicit: true},
		{name: "none", cms: []corev1.ConfigMap{eksKubeconfig}, err: "no kube-proxy config file in 1 ConfigMaps; looked for ConfigMap kube-system/kube-proxy key config.conf, ConfigMap kube-system/kube-proxy-config key config, ConfigMap openshift-kube-proxy/proxy-config key kube-proxy-config.yaml"},
		{name: "two shapes", cms: []corev1.ConfigMap{kubeadm, eks},
			err: "kube-proxy config files in ConfigMap kube-system/kube-proxy key config.conf and ConfigMap kube-system/kube-proxy-config key config: which one kube-proxy reads is in its pod's --config and volumes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			from, conf, err := KubeProxyConfigFromConfigMaps(tc.cms)
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.from, from.String())
			mode, explicit, err := KubeProxyModeFromConfig(conf)
			require.NoError(t, err)
			require.Equal(t, tc.mode, mode)
			require.Equal(t, tc.explicit, explicit)
		})
	}
}

func TestKubeProxyConfigMapOf(t *testing.T) {
	kubeadm, argv := daemonSetPod(t, "kubeadm-v1.34.daemonset.yaml")
	_, config, _, err := KubeProxyModeFromArgs(argv)
	require.NoError(t, err)
	from, err := KubeProxyConfigMapOf(kubeadm, "kube-proxy", config)
	require.NoError(t, err)
	require.Equal(t, ConfigMapKey{"kube-system", "kube-proxy", "config.conf"}, from)

	eks, argv := daemonSetPod(t, "eks-kube-proxy.daemonset.yaml")
	_, config, _, err = KubeProxyModeFromArgs(argv)
	require.NoError(t, err)
	from, err = KubeProxyConfigMapOf(eks, "kube-proxy", config)
	require.NoError(t, err)
	require.Equal(t, "ConfigMap kube-system/kube-proxy-config key config", from.String(), "not /var/lib/kube-proxy/, the kubeconfig")

	// An items mapping renames the file.
	eks.Spec.Volumes[len(eks.Spec.Volumes)-1].ConfigMap.Items = []corev1.KeyToPath{{Key: "kube-proxy.yaml", Path: "config"}}
	from, err = KubeProxyConfigMapOf(eks, "kube-proxy", config)
	require.NoError(t, err)
	require.Equal(t, "kube-proxy.yaml", from.Key)

	var gke corev1.Pod
	testdataYAML(t, "gke-v1.34.static-pod.yaml", &gke)
	_, err = KubeProxyConfigMapOf(&gke, "kube-proxy", "/var/lib/kube-proxy/kubeconfig")
	require.EqualError(t, err, "pod kube-system/kube-proxy-gke-gke-test-default-pool-e5de334e-i8hi container kube-proxy: --config=/var/lib/kube-proxy/kubeconfig: volume kubeconfig at /var/lib/kube-proxy/kubeconfig is not a ConfigMap (hostPath /var/lib/kube-proxy/kubeconfig)")
	_, err = KubeProxyConfigMapOf(&gke, "kube-proxy", "/etc/kube-proxy.yaml")
	require.ErrorContains(t, err, "--config=/etc/kube-proxy.yaml: no volume is mounted there, the file is in the image")
	_, err = KubeProxyConfigMapOf(&gke, "proxy", "/x")
	require.ErrorContains(t, err, "container proxy: --config=/x: no such container")
}

func TestParseProxyModeResponse(t *testing.T) {
	for _, tc := range [][2]string{{"iptables", ModeIPTables}, {"nftables", ModeNFTables}, {"ipvs\n", ModeIPVS}} {
		got, err := ParseProxyModeResponse(tc[0])
		require.NoError(t, err)
		require.Equal(t, tc[1], got)
	}
	for _, tc := range [][2]string{
		{"", "empty answer"},
		{"404 page not found", `"404 page not found" is not a mode`},
		{"kernelspace", `mode "kernelspace"; known Linux modes: iptables, nftables, ipvs`},
	} {
		_, err := ParseProxyModeResponse(tc[0])
		require.ErrorContains(t, err, tc[1])
	}
}

func TestKubeProxyModeFromLogAfterRotation(t *testing.T) {
	_, err := KubeProxyModeFromLog(testdata(t, "running-tail.log"))
	require.ErrorContains(t, err, `no "Using <mode> Proxier" line in 7 lines`)
}

func TestModeEvidence(t *testing.T) {
	for _, tc := range []struct {
		e    ModeEvidence
		want string
	}{
		{ModeEvidence{Mode: ModeIPTables, Source: SourceProxyMode, Of: "nb-node-1"}, "iptables from /proxyMode on node nb-node-1"},
		{ModeEvidence{Mode: ModeIPVS, Source: SourceFlags, Of: "kube-system/kube-proxy-gke-x"}, "ipvs from the flags of pod kube-system/kube-proxy-gke-x"},
		{ModeEvidence{Mode: ModeNFTables, Source: SourceLog, Of: "kube-system/kube-proxy-abc"}, "nftables from the log of pod kube-system/kube-proxy-abc"},
		{ModeEvidence{Mode: ModeIPTables, Source: SourceConfigMap, Of: ConfigMapKey{"kube-system", "kube-proxy-config", "config"}.String()},
			"iptables from ConfigMap kube-system/kube-proxy-config key config"},
	} {
		require.Equal(t, tc.want, tc.e.String())
	}
}
