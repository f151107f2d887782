package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"kube-netbench/internal/lab/agent"
	"kube-netbench/internal/lab/components"
	"kube-netbench/internal/lab/netlab"
	"kube-netbench/internal/lab/netplan"
	"kube-netbench/internal/lab/proc"
	"kube-netbench/internal/lab/runtime"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// AgentCommand is the hidden first argument that makes a lab binary (the
// netbench CLI or an e2e test binary) run as a node agent.
const AgentCommand = "__netbench_lab_agent"

// HandleReexec must be called first in main() and TestMain of every binary
// that can start a lab: the lab re-executes the same binary as node agents and
// container inits. It returns only when the process is not such a re-exec.
func HandleReexec() {
	runtime.Init()
	if len(os.Args) < 3 || os.Args[1] != AgentCommand {
		return
	}
	os.Exit(agentMain(os.Args[2]))
}

func agentMain(configPath string) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg, err := agent.LoadConfig(configPath)
	if err != nil {
		log.Error("agent config", "err", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := agent.Run(ctx, cfg, log); err != nil {
		log.Error("agent failed", "err", err)
		return 1
	}
	return 0
}

// startAgent writes node i's agent config and starts the agent inside the
// node's network namespace, in a session of its own (an interrupt of the
// terminal reaches the lab's controller, which stops the agents in order).
func startAgent(o Options, i int, kubeconfig string) (proc.Ident, error) {
	name := netplan.NodeName(i)
	nodeDir := filepath.Join(o.Dir, "nodes", name)
	if err := os.MkdirAll(nodeDir, 0o700); err != nil {
		return proc.Ident{}, err
	}
	bins := o.Cache.Binaries()
	cil := o.Cache.Cilium()
	cfg := agent.Config{
		NodeName:          name,
		NodeIP:            o.Plan.NodeIP(i),
		PodCIDR:           o.Plan.NodePodCIDR(i),
		Kubeconfig:        kubeconfig,
		StateDir:          nodeDir,
		CNIBinDir:         bins.CNIDir,
		CNIConfList:       agent.PTPConfList(o.Plan.NodePodCIDR(i), filepath.Join(nodeDir, "ipam")),
		KubeletPort:       10250,
		Binaries:          map[string]string{"fortio": bins.Fortio, "kube-proxy": bins.KubeProxy, "netperf": bins.Netperf, "netserver": bins.Netserver},
		KubernetesVersion: components.KubernetesVersion,
		Labels:            map[string]string{"netbench.io/lab": o.Name},
	}
	if o.Dataplane.Cilium() {
		// Pods are attached by cilium-cni, which reaches the node's agent
		// through its node-scoped socket (the DaemonSet's hostPath
		// /var/run/cilium); loopback stays the reference plugin's.
		cfg.CNIConfList = CiliumCNIConfList()
		cfg.CNIExtraBinDirs = []string{cil.CNIDir}
		cfg.CNIEnv = map[string]string{"CILIUM_SOCK": filepath.Join(nodeDir, CiliumSocket)}
		cfg.Binaries[runtime.BinCiliumAgent] = cil.Agent
		cfg.Binaries[runtime.BinCiliumDbg] = cil.Dbg
		cfg.Binaries[runtime.BinCiliumBPF] = cil.BPFDir
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return proc.Ident{}, err
	}
	cfgPath := filepath.Join(nodeDir, "agent.json")
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		return proc.Ident{}, err
	}
	self, err := os.Executable()
	if err != nil {
		return proc.Ident{}, fmt.Errorf("locate the lab binary: %w", err)
	}
	logf, err := os.OpenFile(filepath.Join(o.Dir, "logs", "agent-"+name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return proc.Ident{}, err
	}
	defer logf.Close()
	cmd := exec.Command("nsenter", "--net="+netlab.NetnsPath(netplan.NodeNetns(i)), "--", self, AgentCommand, cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return proc.Ident{}, fmt.Errorf("start agent of %s: %w", name, err)
	}
	id, err := proc.Of(cmd.Process.Pid)
	// Reap it if it ends while this process lives; when `lab up` exits, init
	// adopts it.
	go func() { _ = cmd.Wait() }()
	if err != nil {
		return proc.Ident{}, fmt.Errorf("agent of %s exited at once (see %s): %w", name, logf.Name(), err)
	}
	return id, nil
}
