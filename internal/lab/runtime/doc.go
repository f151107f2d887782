// Package runtime runs the containers of the lab's pods as plain Linux processes, without Docker
// or a CRI runtime.
//
// A container is one process that runs in the pod's network namespace (created and wired by the
// node agent's CNI call), in a private mount namespace whose root is composed from the host's
// system directories, fresh kernel filesystems and the pod's volumes, and in a PID namespace of
// its own. The agent starts it with [Start], signals and reaps it through [Container], runs
// kubectl-exec commands in it with [Container.Exec] and removes its scratch directory with
// [Remove]. [ImageMap] maps the images a pod names to local binaries, and [Argv] applies
// Kubernetes' command/args rules to them.
//
// # How a container starts
//
// Start forks the running executable again (/proc/self/exe) through os/exec, with
// SysProcAttr.Cloneflags = CLONE_NEWPID and Unshareflags = CLONE_NEWNS: the kernel puts the child
// in a new PID namespace and Go's fork code unshares the mount namespace and makes "/" private
// recursively before anything else runs, so no mount made later can propagate back to the
// machine. The child is marked by its first argument, and [Init], called first thing in main (and
// in TestMain of test binaries), turns it into the container init:
//
//  1. it reads the plan Start computed (JSON, from an inherited pipe),
//  2. it enters the pod's network namespace with setns(CLONE_NEWNET) on its locked OS thread
//     (network namespaces may be entered per thread, unlike mount namespaces),
//  3. it composes the root under Spec.RootDir (see below), pivot_roots into it and detaches the
//     machine's tree,
//  4. it chdirs to Spec.WorkDir, resolves Argv[0] with the container's PATH and execve's it from
//     that same thread, which carries the network namespace into the new program.
//
// So the PID Start returns is the final program itself (PID 1 of its PID namespace, a direct child
// of the caller): the caller can signal it and reaps it. Setup errors travel back over a
// close-on-exec pipe, so Start returns them instead of a container that dies at once.
//
// Why not `nsenter --net=... unshare --mount ... <self> init`: it would work and keep the same PID,
// but Start would depend on external tools, and their failures would come back as bare exit codes.
// Why not setns(CLONE_NEWNS) in the caller or the child: the kernel refuses it in a multithreaded
// process, and every Go process is multithreaded.
//
// # The composed root
//
// RootDir/rootfs becomes "/". /usr, /etc and the other system directories (/bin, /sbin, /lib*
// are replicated as the symlinks they are on merged-/usr hosts) are the host's, read-only. /proc
// is a fresh procfs of the container's PID namespace, /sys a fresh sysfs of its network namespace
// with the host's /sys/fs/cgroup bound read-only, /dev the host's /dev (recursive bind), /tmp a
// fresh tmpfs, and /run, /var (with /var/run -> /run) and /root plain directories in RootDir. Each
// Mount is bound at its Target, read-only when asked. A mount point the container needs inside a
// host system directory (an image binary at /usr/bin/fortio, an image directory at /etc/fortio)
// is never created on the host: that directory is then mounted as a read-only overlay whose upper
// layer, in RootDir/layers, holds just the missing empty files and directories. Every path is
// resolved inside the container's view before anything is created, so no symlink leads outside.
//
// # What callers must know
//
//   - [Init] must be the first call of main() and of TestMain in every binary that calls [Start];
//     Start refuses to run otherwise, because the re-executed binary would run its normal main.
//   - Stop signals the container's PID only. Processes it forked die with it, because it is PID 1
//     of its PID namespace. As PID 1 it ignores SIGTERM unless it handles it (sleep does not;
//     Go programs do), which is what Kubernetes shows too; Stop then kills after the grace period.
//   - As PID 1, a program also ignores a SIGTERM that arrives before it installed its handler
//     (a Go program caught during its runtime start exits 2); wait for readiness before stopping
//     if the exit code matters.
//   - If the caller dies, its containers keep running (there is no shim); the agent must Stop them.
//   - Exec runs `nsenter -t PID -m -n -p -r -w`, so util-linux nsenter must be on the caller's PATH.
//   - There is no UTS or IPC namespace, no cgroup, no user switch: containers run as root with the
//     machine's hostname.
package runtime
