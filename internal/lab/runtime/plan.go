package runtime

import (
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"
)

// The container init executes a plan: a list of steps computed by Start in the caller, where
// errors are cheap to report and the logic can be tested without root. Every path in a step is a
// host path under RootDir with no symlink in it; the init checks that again before acting.

// opKind is what a step does.
type opKind string

const (
	opMkdir   opKind = "mkdir"   // create directory Path with Mode
	opMkfile  opKind = "mkfile"  // create empty file Path with Mode
	opSymlink opKind = "symlink" // create symlink Path pointing to Source
	opBind    opKind = "bind"    // bind Source at Path recursively, read-only if ReadOnly
	opMount   opKind = "mount"   // mount a filesystem of FSType at Path
)

type step struct {
	Op       opKind      `json:"op"`
	Path     string      `json:"path"`
	Source   string      `json:"source,omitempty"`
	FSType   string      `json:"fstype,omitempty"`
	Flags    uintptr     `json:"flags,omitempty"`
	Data     string      `json:"data,omitempty"`
	Mode     fs.FileMode `json:"mode,omitempty"`
	ReadOnly bool        `json:"readonly,omitempty"`
	// Writable clears a read-only flag the bind copied from its source mount (bind only).
	Writable bool `json:"writable,omitempty"`
}

// initPlan is everything the container init needs.
type initPlan struct {
	RootDir string   `json:"rootDir"` // real path of Spec.RootDir; every step stays under it
	Root    string   `json:"root"`    // RootDir/rootfs, the future "/"
	Steps   []step   `json:"steps"`
	NetnsFD int      `json:"netnsFD"` // inherited descriptor of the network namespace, or -1
	WorkDir string   `json:"workDir"`
	Argv    []string `json:"argv"`
	Env     []string `json:"env"`
}

// hostSystemDirs are shared read-only from the host when present; symlinks (merged /usr) are
// replicated as symlinks.
var hostSystemDirs = []string{"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc"}

// kernelDirs hold kernel filesystems; nothing is ever created in them.
var kernelDirs = []string{"proc", "sys", "dev"}

const maxSymlinks = 40

type nodeKind int

const (
	kindMissing nodeKind = iota
	kindDir
	kindFile // anything that is not a directory or a symlink
	kindSymlink
)

type node struct {
	kind nodeKind
	link string      // symlink target
	mode fs.FileMode // permission bits
}

// lookupFunc reports what is at a host path, following a final symlink if follow is set. A path
// that does not exist is kindMissing, not an error.
type lookupFunc func(hostPath string, follow bool) (node, error)

// planner composes the root in a virtual view of the container's filesystem: the host for system
// and kernel directories and inside bound volumes, and what it planned itself everywhere else.
type planner struct {
	rootDir  string
	root     string
	layers   string
	lookup   lookupFunc
	nodes    map[string]node // container path -> node the plan creates (or a top-level node)
	hostDirs map[string]bool // top-level names shared from the host as directories
	inLayer  map[string]bool // container paths present in an overlay layer
	overlay  map[string]bool // host directories that need an overlay layer
	volumes  []volume        // Mounts placed so far
	base     []step          // top-level directories and symlinks
	layer    []step          // overlay layer contents
	created  []step          // directories and files in rootfs and /tmp, after the base mounts
	binds    []step          // the Spec's Mounts
}

type volume struct{ target, source string }

// planContainer computes the init plan of spec; rootDir is the real (symlink-free) RootDir.
func planContainer(spec Spec, rootDir string, lookup lookupFunc) (*initPlan, error) {
	p := &planner{
		rootDir:  rootDir,
		root:     filepath.Join(rootDir, "rootfs"),
		layers:   filepath.Join(rootDir, "layers"),
		lookup:   lookup,
		nodes:    map[string]node{"/": {kind: kindDir, mode: 0o755}},
		hostDirs: map[string]bool{},
		inLayer:  map[string]bool{},
		overlay:  map[string]bool{},
	}
	if err := p.planBase(); err != nil {
		return nil, err
	}
	for _, d := range spec.Dirs {
		if _, err := p.ensure(d, kindDir); err != nil {
			return nil, fmt.Errorf("image directory %s: %w", d, err)
		}
	}
	mounts := slices.Clone(spec.Mounts)
	slices.SortStableFunc(mounts, func(a, b Mount) int { return depth(a.Target) - depth(b.Target) })
	for _, m := range mounts {
		if err := p.planMount(m); err != nil {
			return nil, fmt.Errorf("mount %s at %s: %w", m.Source, m.Target, err)
		}
	}
	workDir := spec.WorkDir
	if workDir == "" {
		workDir = "/"
	}
	if _, err := p.ensure(workDir, kindDir); err != nil {
		return nil, fmt.Errorf("working directory %s: %w", workDir, err)
	}
	return &initPlan{
		RootDir: rootDir,
		Root:    p.root,
		Steps:   p.assemble(),
		NetnsFD: -1,
		WorkDir: workDir,
		Argv:    slices.Clone(spec.Argv),
		Env:     containerEnv(spec.Env),
	}, nil
}

// planBase lays out the top level of the root.
func (p *planner) planBase() error {
	for _, name := range hostSystemDirs {
		n, err := p.lookup("/"+name, false)
		if err != nil {
			return fmt.Errorf("look at host /%s: %w", name, err)
		}
		switch n.kind {
		case kindDir:
			p.hostDirs[name] = true
			p.addBase("/"+name, node{kind: kindDir, mode: n.mode})
		case kindSymlink:
			p.addBase("/"+name, n)
		}
	}
	for _, name := range kernelDirs {
		p.addBase("/"+name, node{kind: kindDir, mode: 0o555})
	}
	for _, d := range []struct {
		path string
		n    node
	}{
		{"/tmp", node{kind: kindDir, mode: fs.ModeSticky | 0o777}},
		{"/run", node{kind: kindDir, mode: 0o755}},
		{"/run/lock", node{kind: kindDir, mode: fs.ModeSticky | 0o777}},
		{"/var", node{kind: kindDir, mode: 0o755}},
		{"/var/lib", node{kind: kindDir, mode: 0o755}},
		{"/var/log", node{kind: kindDir, mode: 0o755}},
		{"/var/tmp", node{kind: kindDir, mode: fs.ModeSticky | 0o777}},
		{"/var/run", node{kind: kindSymlink, link: "../run"}},
		{"/var/lock", node{kind: kindSymlink, link: "../run/lock"}},
		{"/root", node{kind: kindDir, mode: 0o700}},
	} {
		p.addBase(d.path, d.n)
	}
	return nil
}

func (p *planner) addBase(cpath string, n node) {
	p.nodes[cpath] = n
	s := step{Op: opMkdir, Path: p.hostPath(cpath), Mode: n.mode}
	if n.kind == kindSymlink {
		s = step{Op: opSymlink, Path: p.hostPath(cpath), Source: n.link}
	}
	p.base = append(p.base, s)
}

// planMount places one Mount: its target is created if missing, then bound.
func (p *planner) planMount(m Mount) error {
	src, err := p.lookup(m.Source, true)
	if err != nil {
		return fmt.Errorf("look at source: %w", err)
	}
	if src.kind == kindMissing {
		return fmt.Errorf("source %s does not exist", m.Source)
	}
	target, err := p.ensure(m.Target, src.kind)
	if err != nil {
		return err
	}
	p.binds = append(p.binds, step{Op: opBind, Path: p.hostPath(target), Source: m.Source, ReadOnly: m.ReadOnly})
	p.volumes = append(p.volumes, volume{target: target, source: m.Source})
	return nil
}

// ensure resolves target in the container's view and plans what is missing, as a directory or
// (any non-directory want) an empty file. It returns the resolved container path.
func (p *planner) ensure(target string, want nodeKind) (string, error) {
	resolved, err := p.resolve(target)
	if err != nil {
		return "", err
	}
	if want != kindDir {
		want = kindFile
	}
	return resolved, p.ensureResolved(resolved, want)
}

func (p *planner) ensureResolved(cpath string, want nodeKind) error {
	n, err := p.get(cpath)
	if err != nil {
		return err
	}
	switch {
	case n.kind == kindMissing:
	case want == kindDir && n.kind != kindDir:
		return fmt.Errorf("%s exists in the container and is not a directory", cpath)
	case want == kindFile && n.kind == kindDir:
		return fmt.Errorf("%s is a directory in the container, but the source is a file", cpath)
	default:
		return nil
	}
	if err := p.ensureResolved(path.Dir(cpath), kindDir); err != nil {
		return err
	}
	mode := fs.FileMode(0o755)
	if want == kindFile {
		mode = 0o644
	}
	return p.create(cpath, want, mode)
}

// create plans a missing path according to where it lies.
func (p *planner) create(cpath string, kind nodeKind, mode fs.FileMode) error {
	if v, ok := p.volumeOf(cpath); ok {
		return fmt.Errorf("%s does not exist in %s, the source mounted at %s, and the lab does not create paths inside a mount's source",
			cpath, v.source, v.target)
	}
	top := topOf(cpath)
	switch {
	case slices.Contains(kernelDirs, top):
		return fmt.Errorf("%s does not exist in the container's /%s, a kernel filesystem the lab does not create paths in", cpath, top)
	case p.hostDirs[top]:
		if err := p.addToLayer(path.Dir(cpath)); err != nil {
			return err
		}
		p.layer = append(p.layer, step{Op: mkOp(kind), Path: filepath.Join(p.layers, cpath), Mode: mode})
		p.inLayer[cpath] = true
		p.overlay[top] = true
	default:
		p.created = append(p.created, step{Op: mkOp(kind), Path: p.hostPath(cpath), Mode: mode})
	}
	p.nodes[cpath] = node{kind: kind, mode: mode}
	return nil
}

// addToLayer makes sure the overlay layer of a host directory holds dir and its parents, with
// the modes they have in the container's view (the upper layer's modes win in an overlay).
func (p *planner) addToLayer(dir string) error {
	if p.inLayer[dir] {
		return nil
	}
	if path.Dir(dir) != "/" {
		if err := p.addToLayer(path.Dir(dir)); err != nil {
			return err
		}
	}
	n, err := p.get(dir)
	if err != nil {
		return err
	}
	p.layer = append(p.layer, step{Op: opMkdir, Path: filepath.Join(p.layers, dir), Mode: n.mode})
	p.inLayer[dir] = true
	return nil
}

// assemble orders the steps: layout on disk, base mounts, then the Spec's paths and Mounts.
func (p *planner) assemble() []step {
	steps := []step{
		{Op: opMkdir, Path: p.root, Mode: 0o755},
		// pivot_root needs the new root to be a mount point.
		{Op: opBind, Path: p.root, Source: p.root},
	}
	steps = append(steps, p.base...)
	if len(p.layer) > 0 {
		steps = append(steps, step{Op: opMkdir, Path: p.layers, Mode: 0o700})
		steps = append(steps, p.layer...)
	}
	for _, name := range hostSystemDirs {
		if !p.hostDirs[name] {
			continue
		}
		target := p.hostPath("/" + name)
		if p.overlay[name] {
			// Without an upper directory an overlay is read-only.
			data := fmt.Sprintf("lowerdir=%s:/%s", filepath.Join(p.layers, name), name)
			steps = append(steps, step{Op: opMount, Path: target, Source: "overlay", FSType: "overlay", Flags: unix.MS_RDONLY, Data: data})
		} else {
			steps = append(steps, step{Op: opBind, Path: target, Source: "/" + name, ReadOnly: true})
		}
	}
	const noexec = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	steps = append(steps,
		step{Op: opMount, Path: p.hostPath("/proc"), Source: "proc", FSType: "proc", Flags: noexec},
		// /proc/sys is read-only but for net/, which belongs to the container's network
		// namespace: the kernel.*, vm.* and fs.* sysctls are the machine's, and a lab pod
		// must not change them (cilium-agent sets kernel.unprivileged_bpf_disabled=1,
		// which cannot be undone until reboot, and kernel.timer_migration=0; it ignores
		// the failure, as in a container runtime that mounts /proc/sys read-only).
		step{Op: opBind, Path: p.hostPath("/proc/sys"), Source: p.hostPath("/proc/sys"), ReadOnly: true},
		step{Op: opBind, Path: p.hostPath("/proc/sys/net"), Source: p.hostPath("/proc/sys/net"), Writable: true},
		step{Op: opMount, Path: p.hostPath("/sys"), Source: "sysfs", FSType: "sysfs", Flags: noexec})
	if n, err := p.lookup("/sys/fs/cgroup", false); err == nil && n.kind == kindDir {
		steps = append(steps, step{Op: opBind, Path: p.hostPath("/sys/fs/cgroup"), Source: "/sys/fs/cgroup", ReadOnly: true})
	}
	steps = append(steps,
		step{Op: opBind, Path: p.hostPath("/dev"), Source: "/dev"},
		step{Op: opMount, Path: p.hostPath("/tmp"), Source: "tmpfs", FSType: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_NODEV, Data: "mode=1777"})
	steps = append(steps, p.created...)
	return append(steps, p.binds...)
}

func (p *planner) hostPath(cpath string) string { return filepath.Join(p.root, cpath) }

func mkOp(kind nodeKind) opKind {
	if kind == kindDir {
		return opMkdir
	}
	return opMkfile
}
