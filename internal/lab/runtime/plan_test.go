package runtime

import (
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeHost is a host filesystem for the planner: path -> node; missing paths are absent.
type fakeHost map[string]node

func (h fakeHost) lookup(p string, follow bool) (node, error) {
	n, ok := h[p]
	for hops := 0; ok && follow && n.kind == kindSymlink && hops < maxSymlinks; hops++ {
		n, ok = h[n.link] // the fake's source symlinks are absolute
	}
	if !ok {
		return node{kind: kindMissing}, nil
	}
	return n, nil
}

var (
	dir  = node{kind: kindDir, mode: 0o755}
	file = node{kind: kindFile, mode: 0o644}
)

func link(to string) node { return node{kind: kindSymlink, link: to} }

func testHost() fakeHost {
	return fakeHost{
		"/usr": dir, "/usr/bin": dir, "/usr/bin/sh": file, "/usr/lib": dir, "/usr/share": dir,
		"/usr/local": {kind: kindDir, mode: 0o775}, "/usr/local/bin": dir,
		"/bin": link("usr/bin"), "/lib": link("usr/lib"),
		"/etc": dir, "/etc/hosts": file, "/etc/alt": link("/usr/share"),
		"/proc": dir, "/sys": dir, "/sys/fs": dir, "/sys/fs/cgroup": dir,
		"/dev": dir, "/dev/shm": {kind: kindDir, mode: fs.ModeSticky | 0o777},
		"/src/file": file, "/src/bin": file, "/src/dir": dir,
		"/src/vol": dir, "/src/vol/present": file,
		"/src/vol/loop1": link("loop2"), "/src/vol/loop2": link("loop1"),
		"/src/vol/escape": link("../../../../etc"),
	}
}

func testPlan(t *testing.T, spec Spec) *initPlan {
	t.Helper()
	if spec.Argv == nil {
		spec.Argv = []string{"sh"}
	}
	p, err := planContainer(spec, "/R", testHost().lookup)
	require.NoError(t, err)
	for _, s := range p.Steps {
		require.Truef(t, strings.HasPrefix(s.Path, "/R/"), "step %+v leaves RootDir", s)
	}
	return p
}

// index returns the position of the step with op and path, or -1.
func index(p *initPlan, op opKind, path string) int {
	return slices.IndexFunc(p.Steps, func(s step) bool { return s.Op == op && s.Path == path })
}

func requireStep(t *testing.T, p *initPlan, op opKind, path string) step {
	t.Helper()
	i := index(p, op, path)
	require.GreaterOrEqualf(t, i, 0, "no %s %s in\n%s", op, path, dump(p))
	return p.Steps[i]
}

func dump(p *initPlan) string {
	var b strings.Builder
	for _, s := range p.Steps {
		b.WriteString(string(s.Op) + " " + s.Path + " " + s.Source + " " + s.Data + "\n")
	}
	return b.String()
}

func TestPlanBaseLayout(t *testing.T) {
	p := testPlan(t, Spec{})
	require.Equal(t, "/R/rootfs", p.Root)
	require.Equal(t, "/", p.WorkDir)
	require.Equal(t, step{Op: opBind, Path: "/R/rootfs", Source: "/R/rootfs"}, p.Steps[1], "the root must be a mount point")
	require.Equal(t, "usr/bin", requireStep(t, p, opSymlink, "/R/rootfs/bin").Source)
	require.Equal(t, "../run", requireStep(t, p, opSymlink, "/R/rootfs/var/run").Source)
	usr := requireStep(t, p, opBind, "/R/rootfs/usr")
	require.True(t, usr.ReadOnly)
	require.Equal(t, "/usr", usr.Source)
	require.True(t, requireStep(t, p, opBind, "/R/rootfs/etc").ReadOnly)
	require.Equal(t, "proc", requireStep(t, p, opMount, "/R/rootfs/proc").FSType)
	require.Equal(t, "sysfs", requireStep(t, p, opMount, "/R/rootfs/sys").FSType)
	require.True(t, requireStep(t, p, opBind, "/R/rootfs/sys/fs/cgroup").ReadOnly)
	require.False(t, requireStep(t, p, opBind, "/R/rootfs/dev").ReadOnly)
	require.Equal(t, "tmpfs", requireStep(t, p, opMount, "/R/rootfs/tmp").FSType)
	require.Equal(t, fs.ModeSticky|0o777, requireStep(t, p, opMkdir, "/R/rootfs/tmp").Mode)
	require.Equal(t, -1, index(p, opMkdir, "/R/layers"), "no layer without a path to add")
	require.Contains(t, p.Env, "PATH="+DefaultPath)
	require.Contains(t, p.Env, "HOME=/root")
}

func TestPlanBinaryInHostDirUsesOverlayLayer(t *testing.T) {
	p := testPlan(t, Spec{Mounts: []Mount{{Source: "/src/bin", Target: "/usr/local/bin/kube-proxy", ReadOnly: true}}})
	requireStep(t, p, opMkdir, "/R/layers")
	require.Equal(t, fs.FileMode(0o775), requireStep(t, p, opMkdir, "/R/layers/usr/local").Mode, "layer dirs keep the host's modes")
	requireStep(t, p, opMkdir, "/R/layers/usr/local/bin")
	mk := index(p, opMkfile, "/R/layers/usr/local/bin/kube-proxy")
	overlay := index(p, opMount, "/R/rootfs/usr")
	bind := index(p, opBind, "/R/rootfs/usr/local/bin/kube-proxy")
	require.True(t, mk >= 0 && overlay > mk && bind > overlay, dump(p))
	require.Equal(t, "lowerdir=/R/layers/usr:/usr", p.Steps[overlay].Data)
	require.Equal(t, -1, index(p, opBind, "/R/rootfs/usr"), "the overlay replaces the plain bind")
	require.True(t, p.Steps[bind].ReadOnly)
	requireStep(t, p, opBind, "/R/rootfs/etc") // untouched directories stay plain binds
}

func TestPlanResolvesSymlinksInsideTheContainer(t *testing.T) {
	p := testPlan(t, Spec{
		Mounts: []Mount{
			{Source: "/src/bin", Target: "/bin/fortio"},                              // /bin -> usr/bin
			{Source: "/src/dir", Target: "/var/run/secrets/kubernetes.io/sa"},        // /var/run -> ../run
			{Source: "/src/file", Target: "/etc/alt/x.conf"},                         // absolute link, container's /usr
			{Source: "/src/vol", Target: "/data"},                                    // a volume with a link climbing out
			{Source: "/src/file", Target: "/data/escape/new.conf"},                   // -> /etc/new.conf, not the host's
			{Source: "/src/file", Target: "/../../etc/../var/lib/kube-proxy/c.conf"}, // lexical .. stays inside
		},
	})
	requireStep(t, p, opBind, "/R/rootfs/usr/bin/fortio")
	requireStep(t, p, opMkfile, "/R/layers/usr/bin/fortio")
	requireStep(t, p, opMkdir, "/R/rootfs/run/secrets/kubernetes.io/sa")
	requireStep(t, p, opBind, "/R/rootfs/run/secrets/kubernetes.io/sa")
	requireStep(t, p, opMkfile, "/R/layers/usr/share/x.conf")
	requireStep(t, p, opMkfile, "/R/layers/etc/new.conf")
	requireStep(t, p, opBind, "/R/rootfs/etc/new.conf")
	requireStep(t, p, opMkfile, "/R/rootfs/var/lib/kube-proxy/c.conf")
	require.Equal(t, "lowerdir=/R/layers/etc:/etc", requireStep(t, p, opMount, "/R/rootfs/etc").Data)
}

func TestPlanOrder(t *testing.T) {
	p := testPlan(t, Spec{
		WorkDir: "/var/lib/fortio",
		Dirs:    []string{"/etc/fortio"},
		Mounts: []Mount{
			{Source: "/src/file", Target: "/tmp/a/b.conf"},
			{Source: "/src/file", Target: "/data/vol/present"}, // deeper, given first
			{Source: "/src/vol", Target: "/data/vol"},
		},
	})
	tmpfs := index(p, opMount, "/R/rootfs/tmp")
	require.Greater(t, index(p, opMkfile, "/R/rootfs/tmp/a/b.conf"), tmpfs, "paths in /tmp are made in the tmpfs")
	require.Greater(t, index(p, opBind, "/R/rootfs/data/vol/present"), index(p, opBind, "/R/rootfs/data/vol"), "parents are mounted first")
	require.Equal(t, -1, index(p, opMkfile, "/R/rootfs/data/vol/present"), "an existing path in a volume is not created")
	requireStep(t, p, opMkdir, "/R/rootfs/var/lib/fortio")
	requireStep(t, p, opMkdir, "/R/layers/etc/fortio")
	require.Equal(t, "/var/lib/fortio", p.WorkDir)
}

func TestPlanRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec Spec
		want string
	}{
		{"missing path under /dev", Spec{Mounts: []Mount{{Source: "/src/file", Target: "/dev/termination-log"}}},
			"kernel filesystem"},
		{"missing path in a volume", Spec{Mounts: []Mount{{Source: "/src/vol", Target: "/data"}, {Source: "/src/file", Target: "/data/new.conf"}}},
			"does not exist in /src/vol, the source mounted at /data"},
		{"file onto a directory", Spec{Mounts: []Mount{{Source: "/src/file", Target: "/etc"}}},
			"is a directory in the container, but the source is a file"},
		{"directory onto a file", Spec{Mounts: []Mount{{Source: "/src/dir", Target: "/etc/hosts"}}},
			"exists in the container and is not a directory"},
		{"path through a file", Spec{Mounts: []Mount{{Source: "/src/dir", Target: "/etc/hosts/x"}}},
			"/etc/hosts is not a directory"},
		{"symlink loop", Spec{Mounts: []Mount{{Source: "/src/vol", Target: "/data"}}, WorkDir: "/data/loop1"},
			"too many levels of symbolic links"},
		{"missing source", Spec{Mounts: []Mount{{Source: "/src/nothing", Target: "/x"}}},
			"source /src/nothing does not exist"},
		{"climbing out of a missing directory", Spec{Dirs: []string{"/var/new/../../x"}},
			"/var/new does not exist and the rest of the path climbs out of it"}, // as the kernel would fail
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := tc.spec
			spec.Argv = []string{"sh"}
			_, err := planContainer(spec, "/R", testHost().lookup)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestPlanNetperfImage: Debian's netperf and netserver are dynamically linked (ld-linux from
// /lib64, libc and libm from /lib/x86_64-linux-gnu); on a merged-/usr host the container has
// /lib and /lib64 as the same symlinks into its read-only /usr, and both binaries bound over it.
func TestPlanNetperfImage(t *testing.T) {
	img, err := DefaultImages(Binaries{BinNetperf: "/src/netperf", BinNetserver: "/src/netserver"}).Resolve("networkstatic/netperf")
	require.NoError(t, err)
	host := testHost()
	host["/lib64"], host["/usr/lib64"] = link("usr/lib64"), dir
	host["/src/netperf"], host["/src/netserver"] = file, file
	p, err := planContainer(Spec{Argv: Argv(img, []string{"netserver", "-D"}, nil, img.Env), Env: img.Env, Mounts: img.Binds}, "/R", host.lookup)
	require.NoError(t, err)
	require.Equal(t, "usr/lib", requireStep(t, p, opSymlink, "/R/rootfs/lib").Source)
	require.Equal(t, "usr/lib64", requireStep(t, p, opSymlink, "/R/rootfs/lib64").Source)
	for _, bin := range []string{"netperf", "netserver"} {
		requireStep(t, p, opMkfile, "/R/layers/usr/bin/"+bin)
		b := requireStep(t, p, opBind, "/R/rootfs/usr/bin/"+bin)
		require.Equal(t, "/src/"+bin, b.Source)
		require.True(t, b.ReadOnly)
	}
	require.Equal(t, "lowerdir=/R/layers/usr:/usr", requireStep(t, p, opMount, "/R/rootfs/usr").Data)
	require.Equal(t, []string{"netserver", "-D"}, p.Argv)
}

func TestPlanExistingPathsNeedNoCreation(t *testing.T) {
	p := testPlan(t, Spec{Mounts: []Mount{
		{Source: "/src/dir", Target: "/dev/shm"},
		{Source: "/src/file", Target: "/etc/hosts", ReadOnly: true},
	}})
	requireStep(t, p, opBind, "/R/rootfs/dev/shm")
	requireStep(t, p, opBind, "/R/rootfs/etc/hosts")
	require.Equal(t, -1, index(p, opMkdir, "/R/layers"))
}
