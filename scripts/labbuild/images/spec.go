package main

import (
	"os"
	"path/filepath"
	"strings"
)

// Spec is one image: its reference, its layers and its configuration.
type Spec struct {
	// Ref is the exact reference pods name (fixtures, the lab's DaemonSets).
	Ref string
	// Layers, bottom first.
	Layers []Layer
	Config Config
	// Optional images are built only when their inputs are in the cache (Cilium's).
	Optional bool
	// Sandbox marks the pause image.
	Sandbox bool
	// CreatedBy describes the build in the image's history.
	CreatedBy string
}

// Config is the part of an image's configuration the lab sets, as upstream's Dockerfile does.
type Config struct {
	Entrypoint, Cmd, Env []string
	WorkingDir, User     string
	// ExposedPorts are "port/proto"; Volumes are absolute paths.
	ExposedPorts, Volumes []string
}

// DefaultPath is the PATH Docker (BuildKit) gives every Linux image without an ENV PATH.
const DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// PauseVersion is the pause image of kubeadm 1.37 (cmd/kubeadm/app/constants PauseVersion in
// k8s.io/kubernetes v1.37.2, and build/pause/Makefile's TAG).
const PauseVersion = "3.10.2"

// PauseImage is the sandbox image: containerd's pinned_images.sandbox on the lab's nodes (the
// index marks it).
const PauseImage = "registry.k8s.io/pause:" + PauseVersion

// Versions of the images whose tag is not a component version of the cache.
const (
	// BusyboxTag is the fixtures' busybox tag; the lab's copy has Debian's busybox-static,
	// whose version differs (docs/lab.md, "Images").
	BusyboxTag = "1.36"
	// IperfVersion is the upstream version of Debian bookworm's iperf3, which the tools
	// image holds (images/tools/Dockerfile's IPERF3_VERSION).
	IperfVersion = "3.12"
	// ToolsRepo and ToolsRevision make the tools image's reference with the tool versions:
	// the reference fixtures.ToolsImage names and .github/workflows/images.yaml pushes.
	ToolsRepo     = "ghcr.io/kube-netbench/tools"
	ToolsRevision = "r1"
	// DistrolessIptablesVersion is the kube-proxy base image of Kubernetes v1.37.2
	// (build/common.sh __default_distroless_iptables_version).
	DistrolessIptablesVersion = "v0.9.9"
)

// ToolsTag is the tools image's tag: the tool versions and the image's revision.
func ToolsTag(netperfVersion string) string {
	return "iperf3-" + IperfVersion + "-netperf-" + netperfVersion + "-" + ToolsRevision
}

// Staged is where scripts/lab-images.sh puts an image's staged root: <cache>/images/<name>/<tag>/rootfs.
func Staged(cache Cache, name, tag string) string {
	return filepath.Join(cache.Root, "images", name, tag, "rootfs")
}

// Specs returns every image the lab builds, with inputs from cache. It reads nothing.
func Specs(cache Cache) []Spec {
	v := cache.Versions
	fortioTag := strings.TrimPrefix(v.Fortio, "v")
	netperfVersion, _, _ := strings.Cut(v.Netperf, "-")
	toolsTag := ToolsTag(netperfVersion)
	return []Spec{
		{
			// fortio's Dockerfile (release stage): FROM scratch, the binary only (its UI is
			// embedded), EXPOSE 8078-8081, VOLUMEs, WORKDIR and the server as CMD.
			Ref: "fortio/fortio:" + fortioTag,
			Layers: []Layer{{
				Files: []File{{Path: "/usr/bin/fortio", Source: cache.Fortio(), Mode: 0o755}},
				Dirs:  []string{"/var/lib/fortio"},
			}},
			Config: Config{
				Entrypoint:   []string{"/usr/bin/fortio"},
				Cmd:          []string{"server", "-config-dir", "/etc/fortio"},
				Env:          []string{DefaultPath},
				WorkingDir:   "/var/lib/fortio",
				ExposedPorts: []string{"8078/tcp", "8079/tcp", "8080/tcp", "8081/tcp"},
				Volumes:      []string{"/etc/fortio", "/var/lib/fortio"},
			},
			CreatedBy: "fortio " + v.Fortio + " (lab cache) on scratch",
		},
		{
			// docker-library/busybox: FROM scratch, the rootfs its builder makes, CMD ["sh"].
			Ref:       "busybox:" + BusyboxTag,
			Layers:    []Layer{{Root: Staged(cache, "busybox", BusyboxTag)}},
			Config:    Config{Cmd: []string{"sh"}, Env: []string{DefaultPath}},
			CreatedBy: "Debian bookworm busybox-static, applets as hard links in /bin (scripts/lab-images.sh)",
		},
		{
			// images/tools/Dockerfile: Debian bookworm slim with iperf3 and non-free netperf,
			// as nobody; arguments alone run iperf3, by default its server.
			Ref:    ToolsRepo + ":" + toolsTag,
			Layers: []Layer{{Root: Staged(cache, "tools", toolsTag)}},
			Config: Config{
				Entrypoint:   []string{"iperf3"},
				Cmd:          []string{"-s"},
				Env:          []string{DefaultPath},
				ExposedPorts: []string{"5201/tcp", "12865/tcp"},
				User:         "65534:65534",
			},
			CreatedBy: "Debian bookworm minbase with iperf3 and non-free netperf " + v.Netperf + " (scripts/lab-images.sh)",
		},
		{
			// kubernetes build/pause: the static pause on scratch, as nobody.
			Ref:    PauseImage,
			Layers: []Layer{{Root: Staged(cache, "pause", PauseVersion)}},
			Config: Config{
				Entrypoint: []string{"/pause"},
				Env:        []string{DefaultPath},
				User:       "65535:65535",
			},
			Sandbox:   true,
			CreatedBy: "gcc -Os -static build/pause/linux/pause.c of k8s.io/kubernetes " + v.Kubernetes,
		},
		{
			// kubernetes build/server-image/Dockerfile on distroless-iptables: the binary in
			// /usr/local/bin and kube-log-runner as /go-runner, the ENTRYPOINT.
			Ref: "registry.k8s.io/kube-proxy:" + v.Kubernetes,
			Layers: []Layer{
				{Root: Staged(cache, "distroless-iptables", DistrolessIptablesVersion)},
				{Files: []File{
					{Path: "/usr/local/bin/kube-proxy", Source: cache.KubeProxy(), Mode: 0o755},
					{Path: "/go-runner", Source: cache.GoRunner(), Mode: 0o755},
				}},
			},
			Config:    Config{Entrypoint: []string{"/go-runner"}, Env: []string{DefaultPath}},
			CreatedBy: "kube-proxy " + v.Kubernetes + " (lab cache) on distroless-iptables " + DistrolessIptablesVersion + " from Debian bookworm",
		},
		ciliumSpec(cache),
	}
}

// ciliumSpec is quay.io/cilium/cilium (images/cilium/Dockerfile's release stage): the
// runtime (images/runtime: a distribution with iproute2, iptables, ipset, kmod, clang, llc,
// bpftool; staged by scripts/lab-images.sh, with Helm's init scripts and the cilium link),
// then the agent, its CLI, its CNI plugin and the bpf/ sources from the lab's cache.
func ciliumSpec(cache Cache) Spec {
	v := cache.Versions.Cilium
	return Spec{
		Ref:      "quay.io/cilium/cilium:" + v,
		Optional: true,
		Layers: []Layer{
			{Root: Staged(cache, "cilium-runtime", v)},
			{Files: []File{
				{Path: "/usr/bin/cilium-agent", Source: cache.Cilium("cilium-agent"), Mode: 0o755},
				{Path: "/usr/bin/cilium-dbg", Source: cache.Cilium("cilium-dbg"), Mode: 0o755},
				{Path: "/opt/cni/bin/cilium-cni", Source: cache.Cilium("cilium-cni"), Mode: 0o755},
				{Path: "/var/lib/cilium/bpf", Source: cache.Cilium("bpf")},
			}},
		},
		Config: Config{
			Env:        []string{DefaultPath, "HUBBLE_SERVER=unix:///var/run/cilium/hubble.sock", "INITSYSTEM=SYSTEMD"},
			WorkingDir: "/home/cilium",
			Cmd:        []string{"/usr/bin/cilium-dbg"},
		},
		CreatedBy: "cilium " + v + " (lab cache) on a Debian minbase with Cilium's runtime tools (scripts/lab-images.sh)",
	}
}

// Inputs lists the host paths a spec reads, for messages and for staleness.
func (s Spec) Inputs() []string {
	var in []string
	for _, l := range s.Layers {
		if l.Root != "" {
			in = append(in, l.Root)
		}
		for _, f := range l.Files {
			in = append(in, f.Source)
		}
	}
	return in
}

// Missing returns the inputs of s that do not exist.
func (s Spec) Missing() []string {
	var missing []string
	for _, p := range s.Inputs() {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
	}
	return missing
}
