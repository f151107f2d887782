package cgroupbpf

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestAttachedSeesAProgramOnItsCgroupOnly attaches a real connect4 program
// (it allows every connect) to a new cgroup and checks that Attached counts
// it there and not on the cgroup2 root above it: the lab's check that
// Cilium stays off the machine's root relies on both.
func TestAttachedSeesAProgramOnItsCgroupOnly(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("loading and attaching a BPF program needs root")
	}
	root := cgroup2Root(t)
	before, err := Attached(root)
	require.NoError(t, err)

	dir := filepath.Join(root, "netbench-cgroupbpf-test-"+strconv.Itoa(os.Getpid()))
	require.NoError(t, os.Mkdir(dir, 0o755))
	t.Cleanup(func() { require.NoError(t, os.Remove(dir)) })
	got, err := Attached(dir)
	require.NoError(t, err)
	require.Empty(t, got, "a new cgroup has no program")

	prog := loadAllowConnect4(t)
	cg, err := os.Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { cg.Close() })
	attach := [5]uint32{uint32(cg.Fd()), uint32(prog), unix.BPF_CGROUP_INET4_CONNECT}
	_, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_ATTACH, uintptr(unsafe.Pointer(&attach)), unsafe.Sizeof(attach))
	require.Zero(t, errno, "attach: %v", errno)
	t.Cleanup(func() {
		_, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_DETACH, uintptr(unsafe.Pointer(&attach)), unsafe.Sizeof(attach))
		require.Zero(t, errno, "detach: %v", errno)
	})

	got, err = Attached(dir)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"connect4": 1}, got)
	after, err := Attached(root)
	require.NoError(t, err)
	require.Equal(t, before, after, "a program on a child cgroup is not attached at the root")
}

func TestAttachedNamesWhatItCannotQuery(t *testing.T) {
	_, err := Attached("/nonexistent-cgroup")
	require.ErrorContains(t, err, "cgroup /nonexistent-cgroup")
	if os.Geteuid() == 0 {
		_, err = Attached(t.TempDir()) // a directory, not a cgroup
		require.ErrorContains(t, err, "query connect4 programs")
	}
}

func cgroup2Root(t *testing.T) string {
	t.Helper()
	root, err := Root()
	require.NoError(t, err)
	if root == "" {
		t.Skip("no cgroup2 hierarchy mounted")
	}
	return root
}

// loadAllowConnect4 loads "r0 = 1; exit" as a cgroup/connect4 program.
func loadAllowConnect4(t *testing.T) int {
	t.Helper()
	insns := []uint64{
		0x00000001_0000_00b7, // mov r0, 1 (imm 1, off 0, regs 0, BPF_ALU64|BPF_MOV|BPF_K)
		0x00000000_0000_0095, // exit (BPF_JMP|BPF_EXIT)
	}
	license := []byte("GPL\x00")
	var attr struct {
		progType, insnCnt           uint32
		insns, license              uint64
		logLevel, logSize           uint32
		logBuf                      uint64
		kernVersion, progFlags      uint32
		name                        [16]byte
		ifindex, expectedAttachType uint32
		_                           [64]byte // later fields, zero
	}
	attr.progType = unix.BPF_PROG_TYPE_CGROUP_SOCK_ADDR
	attr.insnCnt = uint32(len(insns))
	attr.insns = uint64(uintptr(unsafe.Pointer(&insns[0])))
	attr.license = uint64(uintptr(unsafe.Pointer(&license[0])))
	attr.expectedAttachType = unix.BPF_CGROUP_INET4_CONNECT
	fd, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_LOAD, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	if errno != 0 {
		require.NoError(t, errors.Join(errno), "load a cgroup/connect4 program")
	}
	t.Cleanup(func() { unix.Close(int(fd)) })
	return int(fd)
}
