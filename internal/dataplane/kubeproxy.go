// Package dataplane detects and fingerprints a cluster's dataplane. This file
// and its siblings hold the pure parsers: they read what a node really runs
// (kube-proxy's log, its config file, the rules it programmed) from text that
// callers fetch, and never guess. A mode that cannot be read is an error,
// never a default (W-BUG-6: the seed classified anything it could not read
// as iptables).
package dataplane

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// kube-proxy modes on Linux, as kube-proxy names them.
const (
	ModeIPTables = "iptables"
	ModeNFTables = "nftables"
	ModeIPVS     = "ipvs"
)

// knownModes are the modes kube-proxy v1.37 accepts on Linux
// (pkg/proxy/apis/config/validation.validateProxyModeLinux).
var knownModes = []string{ModeIPTables, ModeNFTables, ModeIPVS}

func knownMode(m string) bool {
	for _, k := range knownModes {
		if m == k {
			return true
		}
	}
	return false
}

// proxierLine matches the line kube-proxy logs once it has chosen its
// proxier, logger.Info("Using <mode> Proxier") in cmd/kube-proxy/app/
// server_linux.go, in klog's text format (`...server_linux.go:144] "Using
// iptables Proxier"`) and its JSON format (`"msg":"Using iptables Proxier"`).
var proxierLine = regexp.MustCompile(`(?:\] |"msg":)"Using (\w+) Proxier"`)

// commandFailed matches component-base's log of a failed kube-proxy run
// (cli/run.go: klog.ErrorS(err, "command failed")), which follows a
// "Using ... Proxier" line when the proxier cannot be created.
var commandFailed = regexp.MustCompile(`(?:\] |"msg":)"command failed"`)

// KubeProxyModeFromLog returns the mode a kube-proxy really runs, read from
// its log: the "Using <mode> Proxier" line it writes after choosing its
// proxier, whatever chose it (config file, --proxy-mode flag or the
// version's default). It fails when no such line is present (kube-proxy has
// not got that far, or the log was cut), when the log names two different
// modes, when the mode is not a Linux mode, and when kube-proxy logged that
// it then failed ("command failed").
func KubeProxyModeFromLog(log string) (string, error) {
	var mode, first string
	lines := 0
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		lines++
		line := sc.Text()
		if commandFailed.MatchString(line) && mode != "" {
			return "", fmt.Errorf("kube-proxy log: chose the %s proxier, then failed: %s", mode, strings.TrimSpace(line))
		}
		m := proxierLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if !knownMode(m[1]) {
			return "", fmt.Errorf("kube-proxy log: unknown proxier %q (line %d: %s); known modes: %s",
				m[1], lines, strings.TrimSpace(line), strings.Join(knownModes, ", "))
		}
		if mode != "" && m[1] != mode {
			return "", fmt.Errorf("kube-proxy log: two proxiers, %s (%s) and %s (line %d): is this more than one kube-proxy run?",
				mode, first, m[1], lines)
		}
		mode, first = m[1], strings.TrimSpace(line)
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("kube-proxy log: %w", err)
	}
	if mode == "" {
		return "", fmt.Errorf(`kube-proxy log: no "Using <mode> Proxier" line in %d lines: kube-proxy has not chosen its proxier yet, or the log does not reach back to its start`, lines)
	}
	return mode, nil
}

// kubeProxyConfigFile is the part of kube-proxy's KubeProxyConfiguration
// (k8s.io/kube-proxy/config/v1alpha1) that says which mode to run.
type kubeProxyConfigFile struct {
	APIVersion         string          `json:"apiVersion"`
	Kind               string          `json:"kind"`
	Mode               json.RawMessage `json:"mode"`
	MetricsBindAddress string          `json:"metricsBindAddress"`
}

// KubeProxyConfiguration identification, as kube-proxy v1.37 decodes it.
const (
	kubeProxyConfigAPIVersion = "kubeproxy.config.k8s.io/v1alpha1"
	kubeProxyConfigKind       = "KubeProxyConfiguration"
)

// KubeProxyModeFromConfig returns the mode set in a kube-proxy config file
// (the config.conf key of kubeadm's kube-proxy ConfigMap). The mode may be
// quoted or not. A missing, empty or null mode returns "" with explicit
// false: kube-proxy then runs its version's default (iptables on Linux up to
// v1.39; v1.37.2 logs a warning that this changes to nftables in v1.40).
//
// This is what a cluster was asked to run, not what runs: the ConfigMap may
// not be the file a kube-proxy mounts, and with no config file the
// --proxy-mode flag decides. Use KubeProxyModeFromLog for the truth and this
// as a cross-check. Keys are matched case-sensitively, as kube-proxy does
// ("Mode:" is not "mode:"). Errors: not YAML, not a KubeProxyConfiguration,
// a mode that is not a string, or a mode kube-proxy on Linux rejects.
func KubeProxyModeFromConfig(configConf string) (mode string, explicit bool, err error) {
	c, err := parseKubeProxyConfig(configConf)
	if err != nil {
		return "", false, err
	}
	if len(c.Mode) == 0 || string(c.Mode) == "null" {
		return "", false, nil
	}
	if err := json.Unmarshal(c.Mode, &mode); err != nil {
		return "", false, fmt.Errorf("kube-proxy config: mode %s is not a string", c.Mode)
	}
	if mode == "" {
		return "", false, nil
	}
	if !knownMode(mode) {
		return "", false, fmt.Errorf("kube-proxy config: mode %q: kube-proxy on Linux accepts %s or blank (and would not start)",
			mode, strings.Join(knownModes, ", "))
	}
	return mode, true, nil
}

// parseKubeProxyConfig returns the file's fields, or none with an error: a
// decode that failed half-way, or a file that is not kube-proxy's, has no
// field kube-proxy would read.
func parseKubeProxyConfig(configConf string) (kubeProxyConfigFile, error) {
	if strings.TrimSpace(configConf) == "" {
		return kubeProxyConfigFile{}, errors.New("kube-proxy config: empty")
	}
	js, err := yaml.YAMLToJSON([]byte(configConf))
	if err != nil {
		return kubeProxyConfigFile{}, fmt.Errorf("kube-proxy config: not valid YAML: %w", err)
	}
	var c kubeProxyConfigFile
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(js, &c); err != nil {
		return kubeProxyConfigFile{}, fmt.Errorf("kube-proxy config: not a YAML mapping of a KubeProxyConfiguration: %w", err)
	}
	if c.APIVersion != kubeProxyConfigAPIVersion || c.Kind != kubeProxyConfigKind {
		return kubeProxyConfigFile{}, fmt.Errorf("kube-proxy config: apiVersion %q, kind %q: want %s, %s",
			c.APIVersion, c.Kind, kubeProxyConfigAPIVersion, kubeProxyConfigKind)
	}
	return c, nil
}

// KubeProxyMetricsFromConfig returns the metricsBindAddress of a kube-proxy
// config file ("" when unset: kube-proxy then listens on 127.0.0.1:10249).
func KubeProxyMetricsFromConfig(configConf string) (string, error) {
	c, err := parseKubeProxyConfig(configConf)
	return c.MetricsBindAddress, err
}
