package runtime

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// testBinaries gives every image its binary.
var testBinaries = Binaries{BinFortio: "/cache/fortio", BinKubeProxy: "/cache/kube-proxy", BinPause: "/lab",
	BinNetperf: "/cache/netperf", BinNetserver: "/cache/netserver"}

func TestResolveMatchesAnyTagOrDigest(t *testing.T) {
	images := DefaultImages(testBinaries)
	const digest = "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for ref, want := range map[string]string{
		"fortio/fortio":                        "fortio/fortio",
		"fortio/fortio:1.66.5":                 "fortio/fortio",
		"docker.io/fortio/fortio:latest":       "fortio/fortio",
		"fortio/fortio" + digest:               "fortio/fortio",
		"fortio/fortio:1.66.5" + digest:        "fortio/fortio",
		"networkstatic/iperf3":                 "networkstatic/iperf3",
		"index.docker.io/networkstatic/iperf3": "networkstatic/iperf3",
		"networkstatic/netperf":                "networkstatic/netperf",
		"networkstatic/netperf:latest":         "networkstatic/netperf",
		"docker.io/networkstatic/netperf:2.7":  "networkstatic/netperf",
		"networkstatic/netperf" + digest:       "networkstatic/netperf",
		"registry.k8s.io/pause:3.10":           "registry.k8s.io/pause",
		"registry.k8s.io/pause" + digest:       "registry.k8s.io/pause",
		"busybox":                              "busybox",
		"busybox:1.36":                         "busybox",
		"library/busybox:1.36":                 "busybox",
		"docker.io/library/busybox:1.36.1":     "busybox",
		"docker.io/library/busybox" + digest:   "busybox",
		"registry.k8s.io/kube-proxy:v1.37.2":   "registry.k8s.io/kube-proxy",
	} {
		t.Run(ref, func(t *testing.T) {
			img, err := images.Resolve(ref)
			require.NoError(t, err)
			require.Equal(t, want, img.Name)
		})
	}
}

func TestDefaultImagesContent(t *testing.T) {
	images := DefaultImages(testBinaries)
	fortio, err := images.Resolve("fortio/fortio:1.66.5")
	require.NoError(t, err)
	require.Equal(t, []string{"/usr/bin/fortio"}, fortio.Entrypoint)
	require.Equal(t, []string{"server", "-config-dir", "/etc/fortio"}, fortio.Cmd)
	require.Equal(t, "/var/lib/fortio", fortio.WorkDir)
	require.Equal(t, []Mount{{Source: "/cache/fortio", Target: "/usr/bin/fortio", ReadOnly: true}}, fortio.Binds)

	kp, err := images.Resolve("registry.k8s.io/kube-proxy:v1.37.2")
	require.NoError(t, err)
	require.Empty(t, kp.Entrypoint)
	require.Equal(t, []Mount{{Source: "/cache/kube-proxy", Target: "/usr/local/bin/kube-proxy", ReadOnly: true}}, kp.Binds)

	iperf, err := images.Resolve("networkstatic/iperf3")
	require.NoError(t, err)
	require.Empty(t, iperf.Binds, "iperf3 comes from the host's /usr")

	netperf, err := images.Resolve("networkstatic/netperf:latest")
	require.NoError(t, err)
	require.Equal(t, []string{"netperf"}, netperf.Entrypoint, "the real image's ENTRYPOINT")
	require.Empty(t, netperf.Cmd, "the real image has no CMD")
	require.Equal(t, []string{"PATH=" + DefaultPath}, netperf.Env)
	require.Equal(t, []Mount{
		{Source: "/cache/netperf", Target: "/usr/bin/netperf", ReadOnly: true},
		{Source: "/cache/netserver", Target: "/usr/bin/netserver", ReadOnly: true},
	}, netperf.Binds)

	pause, err := images.Resolve("registry.k8s.io/pause:3.10")
	require.NoError(t, err)
	require.Equal(t, []Mount{{Source: "/lab", Target: "/pause", ReadOnly: true}}, pause.Binds)
}

func TestUnknownImage(t *testing.T) {
	_, err := DefaultImages(Binaries{}).Resolve("nginx:1.27")
	var unknown *UnknownImageError
	require.True(t, errors.As(err, &unknown), "got %T", err)
	require.Equal(t, "nginx:1.27", unknown.Image)
	require.EqualError(t, err, `lab: image "nginx:1.27" is not mapped to a local binary (the lab runs `+
		`fortio/fortio, networkstatic/iperf3, networkstatic/netperf, registry.k8s.io/pause, busybox, quay.io/cilium/cilium, registry.k8s.io/kube-proxy)`)

	_, err = DefaultImages(Binaries{}).Resolve("docker.io/fortio/fortio-other:1")
	require.ErrorAs(t, err, &unknown)
}

func TestResolveNamesAMissingBinary(t *testing.T) {
	_, err := DefaultImages(Binaries{BinPause: "/lab"}).Resolve("fortio/fortio:1.66.5")
	require.EqualError(t, err, `lab: image "fortio/fortio:1.66.5" needs a local binary at /usr/bin/fortio, and the lab was not given one`)
	var unknown *UnknownImageError
	require.False(t, errors.As(err, &unknown))

	_, err = DefaultImages(Binaries{BinNetperf: "/cache/netperf"}).Resolve("networkstatic/netperf")
	require.EqualError(t, err, `lab: image "networkstatic/netperf" needs a local binary at /usr/bin/netserver, and the lab was not given one`)
}

func TestPauseDefaultsToTheRunningExecutable(t *testing.T) {
	orig := executable
	t.Cleanup(func() { executable = orig })
	executable = func() (string, error) { return "/opt/lab/netbench", nil }
	img, err := DefaultImages(Binaries{}).Resolve("registry.k8s.io/pause:3.10")
	require.NoError(t, err)
	require.Equal(t, "/opt/lab/netbench", img.Binds[0].Source)
}

func TestIperf3Override(t *testing.T) {
	img, err := DefaultImages(Binaries{BinIperf3: "/opt/iperf3"}).Resolve("networkstatic/iperf3")
	require.NoError(t, err)
	require.Equal(t, []Mount{{Source: "/opt/iperf3", Target: "/usr/bin/iperf3", ReadOnly: true}}, img.Binds)
}

func TestResolveReturnsCopies(t *testing.T) {
	images := DefaultImages(Binaries{BinFortio: "/cache/fortio"})
	a, err := images.Resolve("fortio/fortio")
	require.NoError(t, err)
	a.Cmd[0], a.Binds[0].Source = "changed", "changed"
	b, err := images.Resolve("fortio/fortio")
	require.NoError(t, err)
	require.Equal(t, "server", b.Cmd[0])
	require.Equal(t, "/cache/fortio", b.Binds[0].Source)
}
