// Package cgroupbpf counts the BPF programs attached directly to a cgroup
// for the socket hooks a kube-proxy replacement uses (connect, sendmsg,
// recvmsg, getpeername, post_bind, release). The lab checks with it that
// Cilium's socket load balancer attached to each node's own cgroup, never
// to the machine's cgroup2 root, where it would rewrite every process's
// connect() on the machine.
package cgroupbpf

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"

	"kube-netbench/internal/lab/node"
)

// SocketHooks are the cgroup attach types of socket-level load balancing,
// named as bpftool names them.
var SocketHooks = []struct {
	Name string
	Type uint32
}{
	{"connect4", unix.BPF_CGROUP_INET4_CONNECT},
	{"connect6", unix.BPF_CGROUP_INET6_CONNECT},
	{"post_bind4", unix.BPF_CGROUP_INET4_POST_BIND},
	{"post_bind6", unix.BPF_CGROUP_INET6_POST_BIND},
	{"sendmsg4", unix.BPF_CGROUP_UDP4_SENDMSG},
	{"sendmsg6", unix.BPF_CGROUP_UDP6_SENDMSG},
	{"recvmsg4", unix.BPF_CGROUP_UDP4_RECVMSG},
	{"recvmsg6", unix.BPF_CGROUP_UDP6_RECVMSG},
	{"getpeername4", unix.BPF_CGROUP_INET4_GETPEERNAME},
	{"getpeername6", unix.BPF_CGROUP_INET6_GETPEERNAME},
	{"sock_release", unix.BPF_CGROUP_INET_SOCK_RELEASE},
}

// queryAttr is bpf_attr's BPF_PROG_QUERY member (include/uapi/linux/bpf.h).
type queryAttr struct {
	targetFD, attachType, queryFlags, attachFlags uint32
	progIDs                                       uint64
	progCnt, _                                    uint32
	progAttachFlags, linkIDs, linkAttachFlags     uint64
	revision                                      uint64
}

// Attached returns, per socket hook with at least one program attached
// directly to the cgroup directory dir (not inherited from a parent), the
// number of programs.
func Attached(dir string) (map[string]int, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: %w", dir, err)
	}
	defer f.Close()
	out := map[string]int{}
	for _, h := range SocketHooks {
		a := queryAttr{targetFD: uint32(f.Fd()), attachType: h.Type}
		_, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_QUERY, uintptr(unsafe.Pointer(&a)), unsafe.Sizeof(a))
		switch {
		case errno == unix.EINVAL && h.Type == unix.BPF_CGROUP_INET_SOCK_RELEASE:
			continue // kernels before 5.9 lack this hook
		case errno != 0:
			return nil, fmt.Errorf("cgroup %s: query %s programs: %w", dir, h.Name, errors.Join(errno))
		}
		if a.progCnt > 0 {
			out[h.Name] = int(a.progCnt)
		}
	}
	return out, nil
}

// Root is the machine's cgroup2 hierarchy ("" when none is mounted).
func Root() (string, error) {
	hs, err := node.Hierarchies()
	return node.Cgroup2(hs), err
}
