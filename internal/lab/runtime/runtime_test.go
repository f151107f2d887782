package runtime_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	utilexec "k8s.io/utils/exec"

	"kube-netbench/internal/lab/runtime"
)

// The kubelet's exec handler asserts this interface on the error itself.
var _ utilexec.ExitError = (*runtime.ExitError)(nil)

func TestContainerInPodNetns(t *testing.T) {
	requireRoot(t)
	self, err := os.Executable()
	require.NoError(t, err)
	netns := newNetns(t)
	tmp := t.TempDir()

	// A ConfigMap-like file at a path the host does not have.
	kubeProxyDir := "/var/lib/kube-proxy"
	if _, err := os.Lstat(kubeProxyDir); err == nil {
		kubeProxyDir = "/var/lib/nbtest-kube-proxy-" + randomSuffix(t)
	}
	hostOnly := []string{kubeProxyDir, "/etc/nbtest", "/usr/local/bin/nbtest", "/var/lib/nbtest", "/data"}
	requireAbsentOnHost(t, hostOnly...)
	config := filepath.Join(tmp, "config.conf")
	require.NoError(t, os.WriteFile(config, []byte("mode: iptables\n"), 0o644))
	roDir, rwDir := filepath.Join(tmp, "ro"), filepath.Join(tmp, "rw")
	require.NoError(t, os.Mkdir(roDir, 0o755))
	require.NoError(t, os.Mkdir(rwDir, 0o755))
	copyDir := filepath.Join(tmp, "copy")
	require.NoError(t, os.MkdirAll(filepath.Join(copyDir, "include"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(copyDir, "include", "a.h"), []byte("#define A 1\n"), 0o444))

	spec := runtime.Spec{
		ID:      "nbtest-" + randomSuffix(t),
		Argv:    []string{"nbtest"}, // found through PATH, in the container's /usr/local/bin
		Env:     []string{"NBTEST_MODE=listen", "NBTEST_ADDR=127.0.0.1:8078"},
		WorkDir: "/var/lib/nbtest",
		Dirs:    []string{"/etc/nbtest"},
		Mounts: []runtime.Mount{
			{Source: self, Target: "/usr/local/bin/nbtest", ReadOnly: true},
			{Source: config, Target: kubeProxyDir + "/config.conf", ReadOnly: true},
			{Source: roDir, Target: "/data/ro", ReadOnly: true},
			{Source: rwDir, Target: "/data/rw"},
			{Source: copyDir, Target: "/data/copy", Copy: true},
		},
		NetnsPath: netns,
		RootDir:   filepath.Join(tmp, "root"),
		LogPath:   filepath.Join(tmp, "container.log"),
	}
	before := mountTable(t)
	c := start(t, spec)
	waitForLog(t, c, spec.LogPath, "listening on 127.0.0.1:8078")
	pid := c.PID()

	t.Run("the PID is the program, a child of the caller", func(t *testing.T) {
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		require.NoError(t, err)
		require.Equal(t, "nbtest\x00", string(cmdline))
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		require.NoError(t, err)
		require.Contains(t, string(status), fmt.Sprintf("\nPPid:\t%d\n", os.Getpid()))
	})
	t.Run("namespaces", func(t *testing.T) {
		require.True(t, sameFile(t, fmt.Sprintf("/proc/%d/ns/net", pid), netns), "not in the pod's netns")
		require.False(t, sameFile(t, fmt.Sprintf("/proc/%d/ns/mnt", pid), "/proc/self/ns/mnt"), "shares the caller's mount namespace")
		require.False(t, sameFile(t, fmt.Sprintf("/proc/%d/ns/pid", pid), "/proc/self/ns/pid"), "shares the caller's PID namespace")
	})
	t.Run("config mount is readable", func(t *testing.T) {
		stdout, stderr, err := execIn(t, c, nil, "cat", kubeProxyDir+"/config.conf")
		require.NoError(t, err, stderr)
		require.Equal(t, "mode: iptables\n", stdout)
		require.Empty(t, stderr)
	})
	t.Run("exec keeps stdout, stderr and the exit code apart", func(t *testing.T) {
		stdout, stderr, err := execIn(t, c, nil, "sh", "-c", "echo out; echo err >&2; exit 3")
		requireExitCode(t, err, 3)
		require.Equal(t, "out\n", stdout)
		require.Equal(t, "err\n", stderr)
		_, stderr, err = execIn(t, c, nil, "no-such-command")
		requireExitCode(t, err, 127)
		require.Contains(t, stderr, "no-such-command")
	})
	t.Run("read-only mounts refuse writes", func(t *testing.T) {
		for _, p := range []string{"/data/ro/new", kubeProxyDir + "/config.conf", "/usr/bin/new", "/etc/new", "/usr/local/bin/nbtest"} {
			_, stderr, err := execIn(t, c, nil, "sh", "-c", "echo x > "+p)
			requireExitCode(t, err, 2)
			require.Contains(t, stderr, "Read-only file system", p)
		}
		_, stderr, err := execIn(t, c, nil, "sh", "-c", "echo x > /data/rw/new && echo y > /tmp/t && echo z > /var/log/v")
		require.NoError(t, err, stderr)
		data, err := os.ReadFile(filepath.Join(rwDir, "new"))
		require.NoError(t, err)
		require.Equal(t, "x\n", string(data))
	})
	t.Run("machine-wide sysctls are read-only, the netns's are not", func(t *testing.T) {
		// cilium-agent writes kernel.unprivileged_bpf_disabled=1 (irreversible until reboot)
		// and kernel.timer_migration=0 when it can: a lab pod must not change the machine.
		for _, p := range []string{"/proc/sys/kernel/timer_migration", "/proc/sys/vm/swappiness"} {
			_, stderr, err := execIn(t, c, nil, "sh", "-c", "cat "+p+" > "+p)
			requireExitCode(t, err, 2)
			require.Contains(t, stderr, "Read-only file system", p)
		}
		host, err := os.ReadFile("/proc/sys/net/ipv4/conf/all/accept_local")
		require.NoError(t, err)
		flip := map[string]string{"0\n": "1", "1\n": "0"}[string(host)]
		require.NotEmpty(t, flip, "accept_local on the host is %q", host)
		stdout, stderr, err := execIn(t, c, nil, "sh", "-c",
			"echo "+flip+" > /proc/sys/net/ipv4/conf/all/accept_local && cat /proc/sys/net/ipv4/conf/all/accept_local")
		require.NoError(t, err, stderr)
		require.Equal(t, flip+"\n", stdout)
		after, err := os.ReadFile("/proc/sys/net/ipv4/conf/all/accept_local")
		require.NoError(t, err)
		require.Equal(t, string(host), string(after), "the write reached the caller's network namespace")
	})
	t.Run("a copy mount is writable and private", func(t *testing.T) {
		stdout, stderr, err := execIn(t, c, nil, "sh", "-c",
			"cat /data/copy/include/a.h && echo '#define B 2' > /data/copy/include/b.h && echo x >> /data/copy/include/a.h && ls /data/copy/include")
		require.NoError(t, err, stderr)
		require.Equal(t, "#define A 1\na.h\nb.h\n", stdout)
		entries, err := os.ReadDir(filepath.Join(copyDir, "include"))
		require.NoError(t, err)
		require.Len(t, entries, 1, "the container wrote into the source")
		a, err := os.ReadFile(filepath.Join(copyDir, "include", "a.h"))
		require.NoError(t, err)
		require.Equal(t, "#define A 1\n", string(a))
	})
	t.Run("composed root", func(t *testing.T) {
		stdout, stderr, err := execIn(t, c, nil, "sh", "-c",
			"set -e; pwd; test -d /etc/nbtest; test -x /usr/bin/sleep; ls /sys/class/net; tr '\\0' ' ' </proc/1/cmdline; echo; readlink /var/run; echo $PATH")
		require.NoError(t, err, stderr)
		require.Equal(t, "/var/lib/nbtest\nlo\nnbtest \n../run\n"+runtime.DefaultPath+"\n", stdout)
	})
	t.Run("the server answers inside the pod netns", func(t *testing.T) {
		dial := []string{"NBTEST_MODE=dial", "NBTEST_ADDR=127.0.0.1:8078"}
		stdout, stderr, err := execIn(t, c, dial, "/usr/local/bin/nbtest")
		require.NoError(t, err, stderr)
		require.Equal(t, greeting+"\n", stdout)

		var out, errOut bytes.Buffer
		require.NoError(t, runtime.ExecInNetns(context.Background(), netns, []string{self}, dial, nil, &out, &errOut), errOut.String())
		require.Equal(t, greeting+"\n", out.String())
	})
	t.Run("cancelling an exec kills it", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		began := time.Now()
		err := c.Exec(ctx, []string{"sh", "-c", "sleep 30; echo late"}, nil, nil, nil, nil)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Less(t, time.Since(began), 5*time.Second)
		// Its shell's child was killed too: no process of the container still runs "sleep 30".
		require.Eventually(t, func() bool {
			stdout, _, err := execIn(t, c, nil, "sh", "-c", `cat /proc/[0-9]*/cmdline | tr '\0' ' '`)
			return err == nil && !strings.Contains(stdout, "sleep 30")
		}, 5*time.Second, 20*time.Millisecond)
	})
	t.Run("the host is untouched", func(t *testing.T) {
		requireAbsentOnHost(t, hostOnly...)
		require.Equal(t, before, mountTable(t))
	})
	t.Run("stop ends it within the grace period", func(t *testing.T) {
		const grace = 5 * time.Second
		began := time.Now()
		require.NoError(t, c.Stop(context.Background(), grace))
		require.Less(t, time.Since(began), grace)
		st := <-c.Wait()
		require.NoError(t, st.Err)
		require.Equal(t, 0, st.Code, "the server exits 0 on SIGTERM")
		require.Zero(t, st.Signal)
		require.Equal(t, before, mountTable(t))
		requireAbsentOnHost(t, hostOnly...)
	})
	t.Run("remove leaves nothing", func(t *testing.T) {
		require.NoError(t, runtime.Remove(spec))
		requireAbsentOnHost(t, spec.RootDir)
	})
}

func TestStopKillsAfterGrace(t *testing.T) {
	requireRoot(t)
	tmp := t.TempDir()
	spec := runtime.Spec{
		ID: "nbtest-sleep", Argv: []string{"sleep", "infinity"}, // PID 1 without a SIGTERM handler
		RootDir: filepath.Join(tmp, "root"), LogPath: filepath.Join(tmp, "log"),
	}
	c := start(t, spec)
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", c.PID()))
	require.NoError(t, err)
	var names []string
	for _, fd := range fds {
		names = append(names, fd.Name())
	}
	require.Equal(t, []string{"0", "1", "2"}, names, "the program inherits only stdin, stdout and stderr")
	const grace = 200 * time.Millisecond
	began := time.Now()
	require.NoError(t, c.Stop(context.Background(), grace))
	require.GreaterOrEqual(t, time.Since(began), grace)
	st := <-c.Wait()
	require.Equal(t, syscall.SIGKILL, st.Signal)
	require.Equal(t, 137, st.Code)
	require.NoError(t, c.Stop(context.Background(), grace), "stopping twice is fine")
	err = c.Exec(context.Background(), []string{"true"}, nil, nil, nil, nil)
	require.ErrorContains(t, err, "not running")
}

func TestPauseImage(t *testing.T) {
	requireRoot(t)
	img, err := runtime.DefaultImages(runtime.Binaries{}).Resolve("registry.k8s.io/pause:3.10")
	require.NoError(t, err)
	tmp := t.TempDir()
	spec := runtime.Spec{
		ID: "nbtest-pause", Argv: runtime.Argv(img, nil, nil, img.Env), Env: img.Env, Mounts: img.Binds,
		RootDir: filepath.Join(tmp, "root"), LogPath: filepath.Join(tmp, "log"),
	}
	c := start(t, spec)
	waitForHandler(t, c.PID(), syscall.SIGTERM) // a SIGTERM before that kills a PID 1 with code 2
	stdout, stderr, err := execIn(t, c, nil, "/pause", "-v")
	require.NoError(t, err, stderr)
	require.Contains(t, stdout, "pause")
	began := time.Now()
	require.NoError(t, c.Stop(context.Background(), 5*time.Second))
	require.Less(t, time.Since(began), 5*time.Second, "pause exits on SIGTERM")
	require.Equal(t, 0, (<-c.Wait()).Code)
}

func TestStartReportsSetupErrors(t *testing.T) {
	requireRoot(t)
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	before := mountTable(t)
	for _, tc := range []struct {
		name   string
		mutate func(*runtime.Spec)
		want   string
	}{
		{"unknown program", func(s *runtime.Spec) { s.Argv = []string{"no-such-program"} },
			`executable file "no-such-program" not found in the container's PATH`},
		{"target in a kernel filesystem", func(s *runtime.Spec) {
			s.Mounts = []runtime.Mount{{Source: file, Target: "/dev/termination-log-nbtest"}}
		}, "kernel filesystem"},
		{"not a network namespace", func(s *runtime.Spec) { s.NetnsPath = file }, "enter network namespace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			spec := runtime.Spec{ID: "nbtest-fail", Argv: []string{"true"},
				RootDir: filepath.Join(tmp, "root"), LogPath: filepath.Join(tmp, "log")}
			tc.mutate(&spec)
			_, err := runtime.Start(spec)
			require.ErrorContains(t, err, tc.want)
			requireAbsentOnHost(t, spec.RootDir)
		})
	}
	require.Equal(t, before, mountTable(t))
}

func TestRemoveDetachesLeakedMountsInsteadOfDeletingThroughThem(t *testing.T) {
	requireRoot(t)
	tmp := t.TempDir()
	src := filepath.Join(tmp, "host-data")
	require.NoError(t, os.Mkdir(src, 0o755))
	sentinel := filepath.Join(src, "keep")
	require.NoError(t, os.WriteFile(sentinel, []byte("x"), 0o644))
	spec := runtime.Spec{ID: "nbtest-remove", RootDir: filepath.Join(tmp, "root")}
	target := filepath.Join(spec.RootDir, "rootfs", "usr")
	require.NoError(t, os.MkdirAll(target, 0o755))
	require.NoError(t, syscall.Mount(src, target, "", syscall.MS_BIND, ""))
	t.Cleanup(func() { _ = syscall.Unmount(target, syscall.MNT_DETACH) }) // if Remove did not
	require.NoError(t, runtime.Remove(spec))
	requireAbsentOnHost(t, spec.RootDir)
	_, err := os.Stat(sentinel)
	require.NoError(t, err, "a file behind the bind mount was deleted")
	require.False(t, slices.ContainsFunc(mountTable(t), func(l string) bool { return strings.Contains(l, spec.RootDir) }))
}

func TestStartRefusesNonEmptyRootDir(t *testing.T) {
	requireRoot(t)
	tmp := t.TempDir()
	spec := runtime.Spec{ID: "nbtest-busy", Argv: []string{"true"}, RootDir: filepath.Join(tmp, "root"), LogPath: filepath.Join(tmp, "log")}
	require.NoError(t, os.MkdirAll(filepath.Join(spec.RootDir, "old"), 0o755))
	_, err := runtime.Start(spec)
	require.ErrorContains(t, err, "is not empty")
	_, err = os.Stat(filepath.Join(spec.RootDir, "old"))
	require.NoError(t, err, "a refused Start must not remove the caller's files")
}

func TestExecInCallerNetns(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := runtime.ExecInNetns(context.Background(), "", []string{"sh", "-c", "echo $GREETING; echo oops >&2; exit 4"},
		[]string{"GREETING=hi"}, nil, &stdout, &stderr)
	requireExitCode(t, err, 4)
	require.Equal(t, "hi\n", stdout.String())
	require.Equal(t, "oops\n", stderr.String())
	require.Contains(t, err.Error(), "exited with code 4")

	err = runtime.ExecInNetns(context.Background(), "", []string{"no-such-command-nbtest"}, nil, nil, nil, nil)
	require.ErrorContains(t, err, "not found")
	_, isExit := err.(utilexec.ExitError)
	require.False(t, isExit, "a command that could not start has no exit code")
}
