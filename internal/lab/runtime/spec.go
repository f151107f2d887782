package runtime

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// DefaultPath is the PATH a container gets when its environment sets none, as container
// runtimes do.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Mount makes a host file or directory visible inside a container.
type Mount struct {
	// Source is the absolute host path of a file or directory. Symlinks in it are followed.
	Source string
	// Target is the absolute path the container sees. Missing parents are created inside the
	// container's composed root, never on the host.
	Target string
	// ReadOnly makes the mount, and every mount below it, read-only.
	ReadOnly bool
	// Copy gives the container a private writable copy of Source (a directory of regular
	// files), made under RootDir at Start and removed with it: what a writable image layer
	// is to a real container (cilium-agent writes generated headers into its bpf/ sources).
	Copy bool
}

// Spec describes one container process.
type Spec struct {
	// ID names the container in errors and process listings.
	ID string
	// Argv is the program and its arguments; Argv[0] is resolved with the PATH of Env.
	Argv []string
	// Env is the program's whole environment ("KEY=value"). PATH defaults to DefaultPath and
	// HOME to /root when absent.
	Env []string
	// WorkDir is the absolute working directory, created when missing; "" means "/".
	WorkDir string
	// Mounts are bound in order of their target depth, parents first.
	Mounts []Mount
	// Dirs are empty directories the image provides (its VOLUMEs, such as fortio's /etc/fortio),
	// created in the composed root before Mounts are bound.
	Dirs []string
	// NetnsPath is the network namespace to run in (/var/run/netns/<name> or /proc/<pid>/ns/net);
	// "" keeps the caller's.
	NetnsPath string
	// RootDir is a scratch directory owned by the caller, absent or empty, where the container's
	// root is composed. Remove deletes it. It must not contain ':', ',' or '\' (overlay syntax).
	RootDir string
	// LogPath receives the program's stdout and stderr, appended.
	LogPath string
}

// validate checks what Start needs before it touches anything.
func (s Spec) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if s.ID == "" {
		bad("ID is empty")
	}
	if len(s.Argv) == 0 || s.Argv[0] == "" {
		bad("Argv is empty: the image has no ENTRYPOINT or CMD and the pod sets no command")
	}
	if !filepath.IsAbs(s.RootDir) || filepath.Clean(s.RootDir) == "/" {
		bad("RootDir %q must be an absolute path other than /", s.RootDir)
	} else if strings.ContainsAny(s.RootDir, ":,\\") {
		bad("RootDir %q must not contain ':', ',' or '\\'", s.RootDir)
	}
	if !filepath.IsAbs(s.LogPath) {
		bad("LogPath %q must be an absolute path", s.LogPath)
	}
	if s.NetnsPath != "" && !filepath.IsAbs(s.NetnsPath) {
		bad("NetnsPath %q must be an absolute path", s.NetnsPath)
	}
	if s.WorkDir != "" && !filepath.IsAbs(s.WorkDir) {
		bad("WorkDir %q must be an absolute path", s.WorkDir)
	}
	for _, m := range s.Mounts {
		if !filepath.IsAbs(m.Source) {
			bad("mount source %q must be an absolute path", m.Source)
		}
		if !filepath.IsAbs(m.Target) || filepath.Clean(m.Target) == "/" {
			bad("mount target %q must be an absolute path other than /", m.Target)
		}
	}
	for _, d := range s.Dirs {
		if !filepath.IsAbs(d) {
			bad("directory %q must be an absolute path", d)
		}
	}
	for _, kv := range s.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			bad("environment entry %q is not KEY=value", kv)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid container spec %q: %w", s.ID, err)
	}
	return nil
}

// containerEnv returns env with duplicate keys merged (the last value wins, in the position of the
// first, as Kubernetes merges them) and PATH and HOME added when absent.
func containerEnv(env []string) []string {
	var out []string
	index := map[string]int{}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := index[k]; ok {
			out[i] = kv
			continue
		}
		index[k] = len(out)
		out = append(out, kv)
	}
	if _, ok := index["PATH"]; !ok {
		out = append(out, "PATH="+DefaultPath)
	}
	if _, ok := index["HOME"]; !ok {
		out = append(out, "HOME=/root")
	}
	return out
}

// lookupEnv returns the value of key in env; the last entry wins.
func lookupEnv(env []string, key string) (string, bool) {
	val, found := "", false
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			val, found = v, true
		}
	}
	return val, found
}
