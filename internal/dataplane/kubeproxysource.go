package dataplane

// Where a kube-proxy's mode can be read on real clusters, besides the
// "Using <mode> Proxier" start-up line (gone after log rotation): its
// command line (GKE, RKE2 and k3s set --proxy-mode or nothing), the
// config file it mounts from a ConfigMap (kubeadm, EKS, OpenShift), and its
// /proxyMode endpoint. All pure: callers fetch the text.

import (
	"errors"
	"fmt"
	"net"
	"path"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"mvdan.cc/sh/v3/syntax"
)

// EvidenceSource says what kind of evidence decided a kube-proxy's mode.
type EvidenceSource string

// The evidence detection reads, strongest first.
const (
	// SourceProxyMode: kube-proxy's own /proxyMode answer on its metrics
	// port, the mode it runs whatever chose it.
	SourceProxyMode EvidenceSource = "/proxyMode"

	// SourceLog: its "Using <mode> Proxier" start-up line.
	SourceLog EvidenceSource = "log"

	// SourceFlags: --proxy-mode on its command line, without --config.
	SourceFlags EvidenceSource = "flags"

	// SourceConfigMap: the mode key of the config file it reads.
	SourceConfigMap EvidenceSource = "ConfigMap"
)

// ModeEvidence is a kube-proxy mode and where it was read, so a report can
// say which source decided.
type ModeEvidence struct {
	Mode   string
	Source EvidenceSource

	// Of names what was read: a node for /proxyMode, "namespace/pod" for
	// flags and logs, ConfigMapKey.String() for a ConfigMap.
	Of string

	// Unanswered says why each stronger source did not decide.
	Unanswered []string
}

// String reads "iptables from /proxyMode on node nb-node-1", "ipvs from the
// flags of pod kube-system/kube-proxy-x", "nftables from ConfigMap
// kube-system/kube-proxy-config key config".
func (e ModeEvidence) String() string {
	switch e.Source {
	case SourceProxyMode:
		return fmt.Sprintf("%s from /proxyMode on node %s", e.Mode, e.Of)
	case SourceLog, SourceFlags:
		return fmt.Sprintf("%s from the %s of pod %s", e.Mode, e.Source, e.Of)
	case SourceConfigMap:
		return fmt.Sprintf("%s from %s", e.Mode, e.Of)
	}
	return fmt.Sprintf("%s from %s %s", e.Mode, e.Source, e.Of)
}

// ParseProxyModeResponse reads the body of kube-proxy's /proxyMode endpoint
// (metrics port, 127.0.0.1:10249 unless metricsBindAddress says otherwise).
// kube-proxy v1.37.2 writes the mode and nothing else, no newline
// (cmd/kube-proxy/app/server.go, serveMetrics: fmt.Fprintf(w, "%s",
// proxyMode)), after platformApplyDefaults has replaced a blank mode by the
// version's default (server_linux.go), so the answer is never blank. Errors:
// blank, more than one word (an error page), a mode that is not Linux's.
func ParseProxyModeResponse(body string) (string, error) {
	mode := strings.TrimSpace(body)
	switch {
	case mode == "":
		return "", errors.New("kube-proxy /proxyMode: empty answer: kube-proxy always writes its mode, is this kube-proxy's metrics port?")
	case strings.ContainsAny(mode, " \t\r\n"):
		return "", fmt.Errorf("kube-proxy /proxyMode: %q is not a mode: is this kube-proxy's metrics port?", clip(mode, 80))
	case !knownMode(mode):
		return "", fmt.Errorf("kube-proxy /proxyMode: mode %q; known Linux modes: %s", mode, strings.Join(knownModes, ", "))
	}
	return mode, nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// KubeProxyModeFromArgs reads a kube-proxy container's command and args
// (concatenated, as the container runs them) for the mode.
//
// With --config, kube-proxy v1.37.2 ignores --proxy-mode and every other
// flag that sets a configuration field: Options.Complete (cmd/kube-proxy/
// app/options.go) loads the file and replaces the configuration the flags
// were parsed into (o.config = c; only logging flags are copied over, and
// flags kept outside it such as --hostname-override and --master still
// act); processV1Alpha1Flags runs only without a file; the --proxy-mode help
// says "This parameter is ignored if a config file is specified by
// --config". So with a config path this returns mode "" and the path: read
// the file (KubeProxyConfigMapOf, KubeProxyModeFromConfig), the flag does
// not count (EKS users found the same: kubernetes/kubernetes#89126). Without
// --config, --proxy-mode decides (explicit true); without either, kube-proxy
// runs its version's default (mode "", explicit false).
//
// It finds kube-proxy's own arguments after the kube-proxy executable, also
// inside a shell wrapper (`sh -c "exec kube-proxy ... 1>>/var/log/kube-
// proxy.log 2>&1"`: GKE, early EKS, OpenShift) and exec wrappers (go-runner
// ... -- kube-proxy); argv starting with a flag is taken as kube-proxy's
// args alone (k3s's "Running kube-proxy" line, args run by the image's
// entrypoint). Flags are read as pflag does: --name=value or --name value,
// "_" as "-" (component-base's WordSepNormalizeFunc), the last one wins,
// "--" ends them. Errors: no kube-proxy executable, a flag without its
// value, a value that depends on the environment ($VAR, $(VAR)), a mode
// that is not Linux's.
func KubeProxyModeFromArgs(argv []string) (mode string, configPath string, explicit bool, err error) {
	args, err := kubeProxyArgs(argv)
	if err != nil {
		return "", "", false, err
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "--") {
			continue // the value of a flag we do not read
		}
		name, val, hasVal := strings.Cut(a[2:], "=")
		name = strings.ReplaceAll(name, "_", "-")
		if name != "proxy-mode" && name != "config" {
			continue
		}
		if !hasVal {
			if i+1 == len(args) {
				return "", "", false, fmt.Errorf("kube-proxy command: --%s without a value", name)
			}
			i++
			val = args[i]
		}
		if strings.Contains(val, "$") {
			return "", "", false, fmt.Errorf("kube-proxy command: --%s=%s depends on the environment: read the running process's command line instead", name, val)
		}
		if name == "config" {
			configPath = val
		} else {
			mode = val
		}
	}
	if configPath != "" {
		return "", configPath, false, nil
	}
	if mode == "" {
		return "", "", false, nil
	}
	if !knownMode(mode) {
		return "", "", false, fmt.Errorf("kube-proxy command: --proxy-mode=%s: kube-proxy on Linux accepts %s or blank (and would not start)",
			mode, strings.Join(knownModes, ", "))
	}
	return mode, "", true, nil
}

// kubeProxyArgs returns the arguments after the kube-proxy executable.
func kubeProxyArgs(argv []string) ([]string, error) {
	if len(argv) == 0 {
		return nil, errors.New("kube-proxy command: empty")
	}
	if strings.HasPrefix(argv[0], "-") {
		return argv, nil
	}
	cmds := [][]string{argv}
	if isShell(argv[0]) && len(argv) >= 3 && strings.HasPrefix(argv[1], "-") && strings.Contains(argv[1], "c") {
		var err error
		if cmds, err = shellCommands(argv[2]); err != nil {
			return nil, fmt.Errorf("kube-proxy command: %s -c %q: %w", argv[0], clip(argv[2], 200), err)
		}
	}
	for _, cmd := range cmds {
		for i, w := range cmd {
			if path.Base(w) == "kube-proxy" {
				return cmd[i+1:], nil
			}
		}
	}
	return nil, fmt.Errorf("kube-proxy command %q: no kube-proxy executable in it", clip(strings.Join(argv, " "), 200))
}

func isShell(exe string) bool {
	switch path.Base(exe) {
	case "sh", "bash", "ash", "dash":
		return true
	}
	return false
}

// shellCommands parses a POSIX shell script (mvdan.cc/sh, shfmt's parser)
// and returns its simple commands' words, quotes removed as sh reads them.
// Nothing is expanded: a parameter stays as written ("$VAR", "${VAR}"), so a
// flag value the shell would fill in is seen as one, not as empty.
// Redirections ("1>>/var/log/kube-proxy.log 2>&1") are not words.
func shellCommands(s string) ([][]string, error) {
	f, err := syntax.NewParser().Parse(strings.NewReader(s), "")
	if err != nil {
		return nil, err
	}
	var cmds [][]string
	syntax.Walk(f, func(n syntax.Node) bool {
		if call, ok := n.(*syntax.CallExpr); ok && len(call.Args) > 0 {
			words := make([]string, len(call.Args))
			for i, w := range call.Args {
				words[i] = unquoted(s, w.Parts)
			}
			cmds = append(cmds, words)
		}
		return true
	})
	return cmds, nil
}

// unquoted is a word's text with its quotes removed; any other part
// (parameter, command substitution, ...) as written in src.
func unquoted(src string, parts []syntax.WordPart) string {
	var b strings.Builder
	for _, p := range parts {
		switch p := p.(type) {
		case *syntax.Lit:
			b.WriteString(p.Value)
		case *syntax.SglQuoted:
			b.WriteString(p.Value)
		case *syntax.DblQuoted:
			b.WriteString(unquoted(src, p.Parts))
		default:
			b.WriteString(src[p.Pos().Offset():p.End().Offset()])
		}
	}
	return b.String()
}

// KubeProxyArgsFromSupervisorLog returns the kube-proxy arguments that k3s
// or RKE2 logged when it last started kube-proxy. k3s runs kube-proxy in
// its own process (no pod; --kube-proxy-arg adds flags) and logs
// logrus.Infof("Running kube-proxy %s", config.ArgString(args))
// (k3s pkg/daemons/agent/agent.go, startKubeProxy); RKE2 logs the same line
// for its static pod. Both log formats are read: journald's `msg="Running
// kube-proxy ..."` (Go-quoted) and a terminal's `INFO[...] Running
// kube-proxy ...`. The last line wins (a restart may change the flags).
// Errors: no such line, or a quoted line cut short (journalctl without
// --no-pager cuts long lines). k3s's own default is --proxy-mode=iptables
// (pkg/daemons/agent/agent_linux.go, kubeProxyArgs), so the line always
// carries a mode unless --kube-proxy-arg sets a config file.
func KubeProxyArgsFromSupervisorLog(log string) ([]string, error) {
	const marker = "Running kube-proxy "
	var last string
	n := 0
	for _, line := range strings.Split(log, "\n") {
		i := strings.Index(line, marker)
		if i < 0 {
			continue
		}
		n++
		if strings.HasSuffix(line[:i], `msg="`) {
			q, err := strconv.QuotedPrefix(line[i-1:])
			if err != nil {
				return nil, fmt.Errorf(`supervisor log: "Running kube-proxy" line %d is cut short (%q): read the log with journalctl --no-pager`, n, clip(line, 120))
			}
			line, _ = strconv.Unquote(q)
			i = 0
		}
		last = strings.TrimSpace(line[i+len(marker):])
	}
	if n == 0 {
		return nil, errors.New(`supervisor log: no "Running kube-proxy" line: kube-proxy is disabled, runs elsewhere, or the log does not reach back to its start`)
	}
	return strings.Fields(last), nil
}

// ConfigMapKey names one key of one ConfigMap.
type ConfigMapKey struct {
	Namespace, Name, Key string
}

func (k ConfigMapKey) String() string {
	return fmt.Sprintf("ConfigMap %s/%s key %s", k.Namespace, k.Name, k.Key)
}

// kubeProxyConfigMaps are where distributions keep kube-proxy's config file.
var kubeProxyConfigMaps = []ConfigMapKey{
	// kubeadm: KubeProxyConfigMap, KubeProxyConfigMapKey in
	// cmd/kubeadm/app/constants (k8s v1.37.2), mounted at /var/lib/kube-proxy.
	{"kube-system", "kube-proxy", "config.conf"},
	// EKS: mounted at /var/lib/kube-proxy-config/, --config=.../config; its
	// ConfigMap "kube-proxy" holds only the kubeconfig (testdata eks-*).
	{"kube-system", "kube-proxy-config", "config"},
	// OpenShift with kube-proxy: openshift/cluster-network-operator
	// bindata/kube-proxy/kube-proxy.yaml, --config=/config/kube-proxy-config.yaml.
	{"openshift-kube-proxy", "proxy-config", "kube-proxy-config.yaml"},
}

// KubeProxyConfigFromConfigMaps finds the kube-proxy config file among
// ConfigMaps in one of the known shapes (kubeProxyConfigMaps) and returns
// which ConfigMap and key it came from, for the report. Pass the text to
// KubeProxyModeFromConfig. Errors: no known shape, or more than one (which
// one kube-proxy reads is then only in its pod: KubeProxyConfigMapOf).
func KubeProxyConfigFromConfigMaps(cms []corev1.ConfigMap) (ConfigMapKey, string, error) {
	var found []ConfigMapKey
	var conf string
	for _, want := range kubeProxyConfigMaps {
		for _, cm := range cms {
			if c, ok := cm.Data[want.Key]; ok && cm.Namespace == want.Namespace && cm.Name == want.Name {
				found, conf = append(found, want), c
			}
		}
	}
	switch len(found) {
	case 1:
		return found[0], conf, nil
	case 0:
		var known []string
		for _, k := range kubeProxyConfigMaps {
			known = append(known, k.String())
		}
		return ConfigMapKey{}, "", fmt.Errorf("no kube-proxy config file in %d ConfigMaps; looked for %s", len(cms), strings.Join(known, ", "))
	}
	var names []string
	for _, k := range found {
		names = append(names, k.String())
	}
	return ConfigMapKey{}, "", fmt.Errorf("kube-proxy config files in %s: which one kube-proxy reads is in its pod's --config and volumes", strings.Join(names, " and "))
}

// KubeProxyConfigMapOf returns the ConfigMap key a kube-proxy container
// reads as configPath (its --config), through the volume mounted there:
// the longest mountPath that contains configPath (or equals it, with
// subPath), a ConfigMap volume, its items' key for that file or else the
// file name. Errors: no such container, configPath not under a mount, a
// volume that is not a ConfigMap (hostPath: the file is on the node).
func KubeProxyConfigMapOf(pod *corev1.Pod, container, configPath string) (ConfigMapKey, error) {
	where := fmt.Sprintf("pod %s/%s container %s: --config=%s", pod.Namespace, pod.Name, container, configPath)
	var c *corev1.Container
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == container {
			c = &pod.Spec.Containers[i]
		}
	}
	if c == nil {
		return ConfigMapKey{}, fmt.Errorf("%s: no such container", where)
	}
	var mount *corev1.VolumeMount
	var file string
	for i, m := range c.VolumeMounts {
		dir := strings.TrimSuffix(m.MountPath, "/")
		var f string
		switch {
		case path.Clean(configPath) == path.Clean(m.MountPath):
			f = m.SubPath // "": the volume is the file (hostPath)
		case m.SubPath == "" && strings.HasPrefix(configPath, dir+"/"):
			f = configPath[len(dir)+1:]
		default:
			continue
		}
		if mount == nil || len(dir) > len(strings.TrimSuffix(mount.MountPath, "/")) {
			mount, file = &c.VolumeMounts[i], f
		}
	}
	if mount == nil {
		return ConfigMapKey{}, fmt.Errorf("%s: no volume is mounted there, the file is in the image", where)
	}
	for _, v := range pod.Spec.Volumes {
		if v.Name != mount.Name {
			continue
		}
		if v.ConfigMap == nil {
			return ConfigMapKey{}, fmt.Errorf("%s: volume %s at %s is not a ConfigMap (%s)", where, v.Name, mount.MountPath, volumeKind(v))
		}
		if file == "" {
			return ConfigMapKey{}, fmt.Errorf("%s: ConfigMap volume %s is mounted there as a directory, not a file", where, v.Name)
		}
		key := file
		for _, it := range v.ConfigMap.Items {
			if path.Clean(it.Path) == path.Clean(file) {
				key = it.Key
			}
		}
		return ConfigMapKey{pod.Namespace, v.ConfigMap.Name, key}, nil
	}
	return ConfigMapKey{}, fmt.Errorf("%s: volume %s is mounted but not defined", where, mount.Name)
}

func volumeKind(v corev1.Volume) string {
	switch {
	case v.HostPath != nil:
		return "hostPath " + v.HostPath.Path
	case v.Secret != nil:
		return "Secret " + v.Secret.SecretName
	case v.Projected != nil:
		return "projected"
	}
	return "another kind"
}

// DefaultMetricsBindAddress is where kube-proxy v1.37.2 serves metrics and
// /proxyMode when its configuration names no address (v1alpha1 defaults,
// pkg/proxy/apis/config/v1alpha1/defaults.go).
const DefaultMetricsBindAddress = "127.0.0.1:10249"

// ProxyModeURL is the URL of kube-proxy's /proxyMode as seen from its node's
// network namespace, for a metricsBindAddress: blank means the default; an
// unspecified host (0.0.0.0, ::) is reached on loopback. Errors: port 0
// (kube-proxy then serves no metrics), or not host:port.
func ProxyModeURL(metricsBindAddress string) (string, error) {
	addr := metricsBindAddress
	if addr == "" {
		addr = DefaultMetricsBindAddress
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("kube-proxy metricsBindAddress %q: %w", metricsBindAddress, err)
	}
	if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
		return "", fmt.Errorf("kube-proxy metricsBindAddress %q: port %q: kube-proxy serves no /proxyMode there (0 turns metrics off)", metricsBindAddress, port)
	}
	switch ip := net.ParseIP(host); {
	case host == "" || (ip != nil && ip.IsUnspecified() && ip.To4() != nil):
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified():
		host = "::1"
	case ip == nil:
		return "", fmt.Errorf("kube-proxy metricsBindAddress %q: host %q is not an IP address", metricsBindAddress, host)
	}
	return "http://" + net.JoinHostPort(host, port) + "/proxyMode", nil
}
