package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/stretchr/testify/require"
)

// versionsFile is the repository's scripts/lab-versions.env.
const versionsFile = "../../lab-versions.env"

// testCache is a cache at root with the repository's versions.
func testCache(t *testing.T, root string) Cache {
	t.Helper()
	v, err := ReadVersions(versionsFile)
	require.NoError(t, err)
	return Cache{Root: root, Versions: v}
}

func specByRef(t *testing.T, cache Cache, ref string) Spec {
	t.Helper()
	for _, s := range Specs(cache) {
		if s.Ref == ref {
			return s
		}
	}
	t.Fatalf("no spec for %s", ref)
	return Spec{}
}

// toolsRef is fixtures.ToolsImage, the reference pods name.
const toolsRef = "ghcr.io/kube-netbench/tools:iperf3-3.12-netperf-2.7.0-r1"

func TestConfigFiles(t *testing.T) {
	cache := testCache(t, "/cache")
	fortio := specByRef(t, cache, "fortio/fortio:1.66.5").ConfigFile()
	require.Equal(t, []string{"/usr/bin/fortio"}, fortio.Config.Entrypoint)
	require.Equal(t, []string{"server", "-config-dir", "/etc/fortio"}, fortio.Config.Cmd)
	require.Equal(t, []string{DefaultPath}, fortio.Config.Env)
	require.Equal(t, "/var/lib/fortio", fortio.Config.WorkingDir)
	require.Equal(t, map[string]struct{}{"8078/tcp": {}, "8079/tcp": {}, "8080/tcp": {}, "8081/tcp": {}}, fortio.Config.ExposedPorts)
	require.Equal(t, map[string]struct{}{"/etc/fortio": {}, "/var/lib/fortio": {}}, fortio.Config.Volumes)
	require.Equal(t, "linux", fortio.OS)
	require.True(t, fortio.Created.Time.Equal(epoch))

	busybox := specByRef(t, cache, "busybox:1.36").ConfigFile()
	require.Empty(t, busybox.Config.Entrypoint)
	require.Equal(t, []string{"sh"}, busybox.Config.Cmd)

	tools := specByRef(t, cache, toolsRef)
	require.Equal(t, []string{"iperf3"}, tools.ConfigFile().Config.Entrypoint)
	require.Equal(t, []string{"-s"}, tools.ConfigFile().Config.Cmd)
	require.Equal(t, "65534:65534", tools.ConfigFile().Config.User, "non-root, numeric: Pod Security restricted")
	require.Equal(t, "tools_iperf3-3.12-netperf-2.7.0-r1.tar", tools.FileName())
	require.Equal(t, []string{"/cache/images/tools/iperf3-3.12-netperf-2.7.0-r1/rootfs"}, tools.Inputs())

	pause := specByRef(t, cache, "registry.k8s.io/pause:3.10.2").ConfigFile()
	require.Equal(t, []string{"/pause"}, pause.Config.Entrypoint)
	require.Equal(t, "65535:65535", pause.Config.User)

	kp := specByRef(t, cache, "registry.k8s.io/kube-proxy:v1.37.2")
	require.Equal(t, []string{"/go-runner"}, kp.ConfigFile().Config.Entrypoint)
	require.Len(t, kp.ConfigFile().History, 2, "one history entry per layer")
	require.Equal(t, "kube-proxy_v1.37.2.tar", kp.FileName())

	cilium := specByRef(t, cache, "quay.io/cilium/cilium:v1.19.4").ConfigFile()
	require.Equal(t, []string{"/usr/bin/cilium-dbg"}, cilium.Config.Cmd)
	require.Equal(t, "/home/cilium", cilium.Config.WorkingDir)
	require.Contains(t, cilium.Config.Env, "INITSYSTEM=SYSTEMD")
}

func TestSpecInputsComeFromTheCache(t *testing.T) {
	cache := testCache(t, "/cache")
	kp := specByRef(t, cache, "registry.k8s.io/kube-proxy:v1.37.2")
	require.Equal(t, []string{
		"/cache/images/distroless-iptables/v0.9.9/rootfs",
		"/cache/kubernetes/v1.37.2/kube-proxy",
		"/cache/images/kube-proxy/v1.37.2/go-runner",
	}, kp.Inputs())
	require.Equal(t, []string{"/cache/fortio/v1.66.5/fortio"}, specByRef(t, cache, "fortio/fortio:1.66.5").Inputs())
	for _, s := range Specs(cache) {
		_, err := name.NewTag(s.Ref)
		require.NoError(t, err, s.Ref)
		require.Equal(t, s.Ref == "quay.io/cilium/cilium:v1.19.4", s.Optional, s.Ref)
		require.Equal(t, s.Ref == PauseImage, s.Sandbox, s.Ref)
	}
}

// fakeCache has a fortio "binary" where the spec expects it.
func fakeCache(t *testing.T) Cache {
	t.Helper()
	cache := testCache(t, t.TempDir())
	p := cache.Fortio()
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte("#!fortio\n"), 0o700))
	return cache
}

func names(hdrs []tar.Header) []string {
	var out []string
	for _, h := range hdrs {
		out = append(out, h.Name)
	}
	return out
}

func TestFortioFiles(t *testing.T) {
	cache := fakeCache(t)
	hdrs, err := specByRef(t, cache, "fortio/fortio:1.66.5").Layers[0].Entries()
	require.NoError(t, err)
	require.Equal(t, []string{"usr/", "usr/bin/", "usr/bin/fortio", "var/", "var/lib/", "var/lib/fortio/"}, names(hdrs))
	require.EqualValues(t, 0o755, hdrs[2].Mode, "the spec's mode, not the source's 0700")
	for _, h := range hdrs {
		require.True(t, h.ModTime.Equal(epoch), h.Name)
		require.Zero(t, h.Uid)
	}
}

func TestTreeEntries(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "bin"), 0o755))
	require.NoError(t, os.Mkdir(filepath.Join(root, "tmp"), 0o755))
	require.NoError(t, os.Chmod(filepath.Join(root, "tmp"), os.ModeSticky|0o777))
	require.NoError(t, os.WriteFile(filepath.Join(root, "bin", "busybox"), []byte("bb"), 0o755))
	// Links named before and after the file: the first name in path order holds the content.
	require.NoError(t, os.Link(filepath.Join(root, "bin", "busybox"), filepath.Join(root, "bin", "ash")))
	require.NoError(t, os.Link(filepath.Join(root, "bin", "busybox"), filepath.Join(root, "bin", "sh")))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "usr", "bin"), 0o755))
	require.NoError(t, os.Symlink("../../bin/env", filepath.Join(root, "usr", "bin", "env")))

	hdrs, err := Layer{Root: root}.Entries()
	require.NoError(t, err)
	require.Equal(t, []string{"bin/", "bin/ash", "bin/busybox", "bin/sh", "tmp/", "usr/", "usr/bin/", "usr/bin/env"}, names(hdrs))
	byName := map[string]tar.Header{}
	for _, h := range hdrs {
		byName[h.Name] = h
	}
	require.Equal(t, byte(tar.TypeReg), byName["bin/ash"].Typeflag)
	require.EqualValues(t, 2, byName["bin/ash"].Size)
	for _, n := range []string{"bin/busybox", "bin/sh"} {
		require.Equal(t, byte(tar.TypeLink), byName[n].Typeflag, n)
		require.Equal(t, "bin/ash", byName[n].Linkname, n)
	}
	require.EqualValues(t, 0o1777, byName["tmp/"].Mode)
	require.Equal(t, "../../bin/env", byName["usr/bin/env"].Linkname)

	_, err = Layer{Files: []File{{Path: "relative", Source: root}}}.Entries()
	require.Error(t, err)
	_, err = Layer{Root: root, Files: []File{{Path: "/tmp", Source: filepath.Join(root, "bin", "busybox")}}}.Entries()
	require.ErrorContains(t, err, "twice")
}

// readArchive opens an OCI archive with go-containerregistry: its one image and the
// annotations the index gives it.
func readArchive(t *testing.T, archive string) (v1.Image, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Open(archive)
	require.NoError(t, err)
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			require.NoError(t, os.MkdirAll(p, 0o755))
		case tar.TypeReg:
			b, err := io.ReadAll(tr)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(p, b, 0o644))
		default:
			t.Fatalf("%s: unexpected entry type %c in an OCI archive", h.Name, h.Typeflag)
		}
	}
	ii, err := layout.ImageIndexFromPath(dir)
	require.NoError(t, err)
	im, err := ii.IndexManifest()
	require.NoError(t, err)
	require.Len(t, im.Manifests, 1)
	img, err := ii.Image(im.Manifests[0].Digest)
	require.NoError(t, err)
	return img, im.Manifests[0].Annotations
}

func TestContainerdName(t *testing.T) {
	for ref, want := range map[string]string{
		"busybox:1.36":                       "docker.io/library/busybox:1.36",
		"fortio/fortio:1.66.5":               "docker.io/fortio/fortio:1.66.5",
		"registry.k8s.io/kube-proxy:v1.37.2": "registry.k8s.io/kube-proxy:v1.37.2",
		"quay.io/cilium/cilium:v1.19.4":      "quay.io/cilium/cilium:v1.19.4",
	} {
		tag, err := name.NewTag(ref)
		require.NoError(t, err)
		require.Equal(t, want, ContainerdName(tag))
	}
}

// layerNames reads back the file names of an image's layers.
func layerNames(t *testing.T, img v1.Image) []string {
	t.Helper()
	layers, err := img.Layers()
	require.NoError(t, err)
	var out []string
	for _, l := range layers {
		rc, err := l.Uncompressed()
		require.NoError(t, err)
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
			out = append(out, h.Name)
		}
		require.NoError(t, rc.Close())
	}
	return out
}

func TestBuildIsReproducibleAndReadsBack(t *testing.T) {
	cache := fakeCache(t)
	spec := specByRef(t, cache, "fortio/fortio:1.66.5")
	a1, err := spec.Build(filepath.Join(t.TempDir(), spec.FileName()))
	require.NoError(t, err)
	a2, err := spec.Build(filepath.Join(t.TempDir(), spec.FileName()))
	require.NoError(t, err)
	require.Equal(t, a1.Digest, a2.Digest)
	require.Equal(t, a1.ID, a2.ID)
	require.Equal(t, a1.Size, a2.Size)

	img, ann := readArchive(t, a1.Path)
	require.Equal(t, "docker.io/fortio/fortio:1.66.5", ann[ContainerdNameAnnotation])
	require.Equal(t, "1.66.5", ann["org.opencontainers.image.ref.name"])
	cf, err := img.ConfigFile()
	require.NoError(t, err)
	want := spec.ConfigFile()
	require.Equal(t, want.Config, cf.Config)
	d, err := img.Digest()
	require.NoError(t, err)
	require.Equal(t, a1.Digest, d.String())
	files := layerNames(t, img)
	require.Contains(t, files, "usr/bin/fortio")
	require.NotContains(t, files, "bin/sh")
	require.False(t, slices.ContainsFunc(files, func(n string) bool { return filepath.Base(n) == "sh" }))
}

func TestEnsureBuildsOnceAndReportsMissingInputs(t *testing.T) {
	cache := fakeCache(t)
	_, err := Ensure(t.Context(), cache, nil)
	require.ErrorIs(t, err, errMissing, "only fortio's input exists")
	require.ErrorContains(t, err, "busybox:1.36")
	require.NotContains(t, err.Error(), "fortio/fortio", "fortio's input is there")
	require.NotContains(t, err.Error(), "cilium", "Cilium is optional")
	index := readIndexList(t, cache)
	require.Len(t, index, 1)
	require.Equal(t, "fortio/fortio:1.66.5", index[0].Ref)
	st1, err := os.Stat(index[0].Path)
	require.NoError(t, err)

	// Unchanged inputs: the archive is reused, not rewritten.
	_, _ = Ensure(t.Context(), cache, nil)
	st2, err := os.Stat(index[0].Path)
	require.NoError(t, err)
	require.Equal(t, st1.ModTime(), st2.ModTime())

	// An input gone: the index no longer lists the image, so no node imports it.
	require.NoError(t, os.Remove(cache.Fortio()))
	_, _ = Ensure(t.Context(), cache, nil)
	require.Empty(t, readIndexList(t, cache))
}

// readIndexList reads the index as the lab does: a JSON list of archives.
func readIndexList(t *testing.T, cache Cache) []Archive {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(Dir(cache), IndexFile))
	require.NoError(t, err)
	var list []Archive
	require.NoError(t, json.Unmarshal(b, &list))
	return list
}

func TestRunSaysWhatToBuild(t *testing.T) {
	t.Setenv("NETBENCH_CACHE", t.TempDir())
	var stdout, stderr bytes.Buffer
	require.Equal(t, 1, run(versionsFile, "", &stdout, &stderr))
	require.Empty(t, stdout.String())
	require.Contains(t, stderr.String(), "make lab-bins lab-images")
	require.Contains(t, stderr.String(), "fortio/fortio:1.66.5")

	t.Setenv("NETBENCH_CACHE", "relative")
	stderr.Reset()
	require.Equal(t, 2, run(versionsFile, "", &stdout, &stderr))
	require.Contains(t, stderr.String(), "absolute")
}

func TestReadVersions(t *testing.T) {
	v, err := ReadVersions(versionsFile)
	require.NoError(t, err)
	require.Equal(t, Versions{Kubernetes: "v1.37.2", Fortio: "v1.66.5", Netperf: "2.7.0-0.1", Cilium: "v1.19.4"}, v)

	p := filepath.Join(t.TempDir(), "versions.env")
	require.NoError(t, os.WriteFile(p, []byte("# only one\nKUBERNETES_VERSION=v1\n"), 0o600))
	_, err = ReadVersions(p)
	require.ErrorContains(t, err, "no FORTIO_VERSION")
	require.NoError(t, os.WriteFile(p, []byte("KUBERNETES_VERSION v1\n"), 0o600))
	_, err = ReadVersions(p)
	require.ErrorContains(t, err, "not KEY=value")
}

// TestRealImages builds, into a temporary directory, the images whose inputs the lab's cache
// has (scripts/lab-build.sh and scripts/lab-images.sh make them), and checks what upstream's
// images have and have not. It reads the cache and writes nothing there.
func TestRealImages(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds images from the lab's cache")
	}
	root, err := DefaultCacheRoot(os.Getenv)
	require.NoError(t, err)
	cache := testCache(t, root)
	checks := map[string]struct{ has, hasNot []string }{
		"fortio/fortio:1.66.5": {has: []string{"usr/bin/fortio", "var/lib/fortio/"}, hasNot: []string{"bin/sh", "bin/", "etc/"}},
		"registry.k8s.io/kube-proxy:v1.37.2": {
			has: []string{"usr/local/bin/kube-proxy", "go-runner", "usr/sbin/iptables", "usr/sbin/iptables-nft-restore",
				"usr/sbin/ip6tables-save", "usr/sbin/nft", "usr/sbin/ipset", "sbin/modprobe", "bin/sh", "bin/dash"},
			hasNot: []string{"usr/sbin/conntrack", "sbin/conntrack", "usr/bin/conntrack"},
		},
		"registry.k8s.io/pause:3.10.2": {has: []string{"pause"}, hasNot: []string{"bin/sh"}},
		"busybox:1.36":                 {has: []string{"bin/busybox", "bin/sh", "bin/sleep", "bin/cat", "etc/passwd", "etc/group", "usr/bin/env"}},
		// Usr-merged Debian: /bin is a link to usr/bin. The suite's client pods run sleep.
		toolsRef: {has: []string{"usr/bin/iperf3", "usr/bin/netperf", "usr/bin/netserver", "usr/bin/sleep", "usr/bin/sh", "etc/passwd"},
			hasNot: []string{"etc/resolv.conf", "etc/hostname"}},
		"quay.io/cilium/cilium:v1.19.4": {has: []string{"usr/bin/cilium-agent", "usr/bin/cilium-dbg", "usr/bin/cilium",
			"opt/cni/bin/cilium-cni", "install-plugin.sh", "var/lib/cilium/bpf/bpf_lxc.c", "usr/local/bin/clang",
			"usr/local/bin/llc", "usr/lib/llvm-19/bin/clang", "usr/sbin/bpftool", "usr/sbin/ip", "usr/sbin/tc",
			"usr/sbin/iptables", "usr/sbin/ip6tables-restore"}},
	}
	for _, s := range Specs(cache) {
		t.Run(s.Ref, func(t *testing.T) {
			if m := s.Missing(); len(m) > 0 {
				t.Skipf("inputs not in the cache %s (make lab-bins lab-images): %v", cache.Root, m)
			}
			a, err := s.Build(filepath.Join(t.TempDir(), s.FileName()))
			require.NoError(t, err)
			img, _ := readArchive(t, a.Path)
			cf, err := img.ConfigFile()
			require.NoError(t, err)
			require.Equal(t, s.ConfigFile().Config, cf.Config)
			files := layerNames(t, img)
			for _, f := range checks[s.Ref].has {
				require.Truef(t, slices.Contains(files, f), "%s has no %s", s.Ref, f)
			}
			for _, f := range checks[s.Ref].hasNot {
				require.Falsef(t, slices.Contains(files, f), "%s has %s, which upstream's has not", s.Ref, f)
			}
			t.Logf("%s %s %d bytes, %d entries", s.Ref, a.Digest, a.Size, len(files))
		})
	}
}
