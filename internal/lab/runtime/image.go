package runtime

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

// Image is what the lab runs for a container image: the image's ENTRYPOINT, CMD, ENV, WORKDIR
// and directories, and the local binaries that stand in for its content. Everything else comes
// from the host's system directories (see the package documentation).
type Image struct {
	// Name is the repository, normalised (no registry prefix for Docker Hub, no tag or digest).
	Name string
	// Entrypoint and Cmd are the image's ENTRYPOINT and CMD.
	Entrypoint, Cmd []string
	// Env is the image's ENV; the pod's env entries come after it and win.
	Env []string
	// WorkDir is the image's WORKDIR ("" means /).
	WorkDir string
	// Dirs are directories the image has (its VOLUMEs), for Spec.Dirs.
	Dirs []string
	// Binds place local binaries in the container, read-only.
	Binds []Mount
}

// Binaries maps the names of the programs the lab's images need (the Bin* keys) to host paths.
// It is a map so that a node agent's JSON configuration converts to it directly.
type Binaries map[string]string

// Keys of Binaries.
const (
	// BinFortio is the fortio built by the lab (<cache>/fortio/v1.66.5/fortio).
	BinFortio = "fortio"
	// BinKubeProxy is the kube-proxy built by the lab.
	BinKubeProxy = "kube-proxy"
	// BinPause is the program started as /pause. When absent, DefaultImages uses the running
	// executable, whose Init pauses when it runs as /pause: same path and behaviour as
	// registry.k8s.io/pause (exits 0 on SIGTERM, reaps children), unlike `sleep infinity`, which
	// ignores SIGTERM as PID 1 and breaks pods whose spec names /pause as their command.
	BinPause = "pause"
	// BinIperf3 is iperf3; when absent, the host's /usr/bin/iperf3 is used through the /usr bind.
	BinIperf3 = "iperf3"
	// BinNetperf and BinNetserver are netperf's client and server, from Debian's non-free
	// netperf package (<cache>/netperf/2.7.0-0.1/{netperf,netserver}). They are dynamically
	// linked against libc and libm, which the container finds in the host's /usr and /lib*.
	BinNetperf   = "netperf"
	BinNetserver = "netserver"
	// BinCiliumAgent and BinCiliumDbg are the Cilium lab's cilium-agent and cilium-dbg
	// (<cache>/cilium/v1.19.4/...); BinCiliumBPF is the directory of its datapath sources,
	// which the image has at /var/lib/cilium/bpf.
	BinCiliumAgent = "cilium-agent"
	BinCiliumDbg   = "cilium-dbg"
	BinCiliumBPF   = "cilium-bpf"
)

// CiliumLLVMDir is where the lab's Cilium image finds clang and llc (Debian's clang-19 and
// llvm-19): first on its PATH, as the real image has its own LLVM in /usr/local/bin.
const CiliumLLVMDir = "/usr/lib/llvm-19/bin"

// executable locates the running binary for BinPause's default; a variable for tests.
var executable = os.Executable

// imageEnv is the ENV of the real images: Docker's default PATH.
var imageEnv = []string{"PATH=" + DefaultPath}

// DefaultImages maps the images the lab runs to local binaries, with the ENTRYPOINT, CMD,
// WORKDIR and VOLUME directories of the real images. It reads nothing, except the running
// executable's path when bins has no BinPause.
func DefaultImages(bins Binaries) ImageMap {
	iperf := Image{Name: "networkstatic/iperf3", Entrypoint: []string{"iperf3"}, Cmd: []string{"-s"}, Env: imageEnv}
	if p := bins[BinIperf3]; p != "" && p != "/usr/bin/iperf3" {
		iperf.Binds = []Mount{{Source: p, Target: "/usr/bin/iperf3", ReadOnly: true}}
	}
	pause := bins[BinPause]
	if pause == "" {
		pause, _ = executable() // on failure Resolve reports the missing binary
	}
	return NewImageMap(
		Image{
			Name:       "fortio/fortio",
			Entrypoint: []string{"/usr/bin/fortio"},
			Cmd:        []string{"server", "-config-dir", "/etc/fortio"},
			Env:        imageEnv,
			WorkDir:    "/var/lib/fortio",
			Dirs:       []string{"/etc/fortio", "/var/lib/fortio"},
			Binds:      []Mount{{Source: bins[BinFortio], Target: "/usr/bin/fortio", ReadOnly: true}},
		},
		iperf,
		// networkstatic/netperf (github.com/nerdalert/netperf-netserver, netperf/Dockerfile):
		// ubuntu with its netperf package, ENTRYPOINT ["netperf"] and no CMD, so a pod passes
		// netperf's arguments as args, or runs the server with command: [netserver, -D].
		Image{
			Name:       "networkstatic/netperf",
			Entrypoint: []string{"netperf"},
			Env:        imageEnv,
			Binds: []Mount{
				{Source: bins[BinNetperf], Target: "/usr/bin/netperf", ReadOnly: true},
				{Source: bins[BinNetserver], Target: "/usr/bin/netserver", ReadOnly: true},
			},
		},
		Image{
			Name:       "registry.k8s.io/pause",
			Entrypoint: []string{"/pause"},
			Env:        imageEnv,
			Binds:      []Mount{{Source: pause, Target: "/pause", ReadOnly: true}},
		},
		// busybox's applets are the host's commands, from the /usr bind.
		Image{Name: "busybox", Cmd: []string{"sh"}, Env: imageEnv},
		// quay.io/cilium/cilium: the agent, its CLI (also as `cilium`, as in the image) and
		// the bpf/ sources under its lib dir; bpftool comes from the host's /usr/sbin. Its
		// DaemonSet names the command (cilium-agent), as Helm's does.
		Image{
			Name: "quay.io/cilium/cilium",
			Env:  []string{"PATH=" + CiliumLLVMDir + ":" + DefaultPath},
			Dirs: []string{"/var/lib/cilium"},
			Binds: []Mount{
				{Source: bins[BinCiliumAgent], Target: "/usr/bin/cilium-agent", ReadOnly: true},
				{Source: bins[BinCiliumDbg], Target: "/usr/bin/cilium-dbg", ReadOnly: true},
				{Source: bins[BinCiliumDbg], Target: "/usr/bin/cilium", ReadOnly: true},
				// Writable and private to each agent, as in the image: the agent writes
				// the headers it generates for this node into it.
				{Source: bins[BinCiliumBPF], Target: "/var/lib/cilium/bpf", Copy: true},
			},
		},
		Image{
			Name:  "registry.k8s.io/kube-proxy",
			Env:   imageEnv,
			Binds: []Mount{{Source: bins[BinKubeProxy], Target: "/usr/local/bin/kube-proxy", ReadOnly: true}},
		},
	)
}

// ImageMap finds the Image for an image reference. Build it with DefaultImages or NewImageMap.
type ImageMap struct {
	images map[string]Image
	names  []string // in the order given, for messages
}

// NewImageMap builds a map from images, keyed by their normalised Name; a later duplicate wins.
func NewImageMap(images ...Image) ImageMap {
	m := ImageMap{images: map[string]Image{}}
	for _, img := range images {
		name := Repository(img.Name)
		img.Name = name
		if _, dup := m.images[name]; !dup {
			m.names = append(m.names, name)
		}
		m.images[name] = img
	}
	return m
}

// UnknownImageError is returned by Resolve for an image the lab cannot run.
type UnknownImageError struct {
	Image string   // the reference asked for
	Known []string // the repositories the lab runs
}

func (e *UnknownImageError) Error() string {
	return fmt.Sprintf("lab: image %q is not mapped to a local binary (the lab runs %s)", e.Image, strings.Join(e.Known, ", "))
}

// Resolve returns the Image for a reference, whatever its tag or digest. An unknown repository
// gives an *UnknownImageError; a known one whose binary the lab was not given gives an error
// naming it.
func (m ImageMap) Resolve(image string) (Image, error) {
	img, ok := m.images[Repository(image)]
	if !ok {
		return Image{}, &UnknownImageError{Image: image, Known: slices.Clone(m.names)}
	}
	for _, b := range img.Binds {
		if b.Source == "" {
			return Image{}, fmt.Errorf("lab: image %q needs a local binary at %s, and the lab was not given one", image, b.Target)
		}
	}
	img.Entrypoint = slices.Clone(img.Entrypoint)
	img.Cmd = slices.Clone(img.Cmd)
	img.Env = slices.Clone(img.Env)
	img.Dirs = slices.Clone(img.Dirs)
	img.Binds = slices.Clone(img.Binds)
	return img, nil
}

// Repository returns the repository of an image reference: without digest or tag, and without
// the docker.io/ and docker.io/library/ prefixes of Docker Hub references.
func Repository(ref string) string {
	name, _, _ := strings.Cut(ref, "@")
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name = name[:i]
	}
	for _, prefix := range []string{"docker.io/", "index.docker.io/", "registry-1.docker.io/"} {
		if rest, ok := strings.CutPrefix(name, prefix); ok {
			name = rest
			break
		}
	}
	if rest, ok := strings.CutPrefix(name, "library/"); ok {
		name = rest
	}
	return name
}
