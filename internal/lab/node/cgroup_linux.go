package node

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Hierarchies lists the mount points of every cgroup hierarchy of this
// mount namespace (v1 controllers, named v1 hierarchies such as systemd's,
// and cgroup2), from mountinfo. On this project's machine: ten v1
// hierarchies and an empty cgroup2 at /sys/fs/cgroup/unified; on a cgroup
// v2 machine: /sys/fs/cgroup alone.
func Hierarchies() ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseHierarchies(f)
}

func parseHierarchies(r interface{ Read([]byte) (int, error) }) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		// "<id> <parent> <maj:min> <root> <mount point> <opts> ... - <fstype> <source> <super opts>"
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 5 || len(qf) < 1 || (qf[0] != "cgroup" && qf[0] != "cgroup2") {
			continue
		}
		if !slices.Contains(out, pf[4]) {
			out = append(out, pf[4])
		}
	}
	return out, sc.Err()
}

// CreateCgroup makes root and root/system under every hierarchy, as the
// kubelet requires of its cgroupRoot (it refuses to start when one
// hierarchy lacks it, the named systemd one included). cpuset's cpus and
// mems are copied down from the parent, since a v1 cpuset cgroup without
// them accepts no task. On cgroup2 the usual controllers are enabled below
// the first level the lab owns, never on the machine's root.
func CreateCgroup(hierarchies []string, root string) error {
	parts := strings.Split(strings.Trim(root, "/"), "/")
	for _, h := range hierarchies {
		dir := h
		for i, p := range append(parts, "system") {
			parent := dir
			dir = filepath.Join(dir, p)
			if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("cgroup %s: %w", dir, err)
			}
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				if err := copyIfEmpty(filepath.Join(parent, f), filepath.Join(dir, f)); err != nil {
					return err
				}
			}
			if i > 0 && isCgroup2(h) {
				if err := enableControllers(parent); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Cgroup2 is the cgroup2 hierarchy among hierarchies, "" when none is.
func Cgroup2(hierarchies []string) string {
	for _, h := range hierarchies {
		if isCgroup2(h) {
			return h
		}
	}
	return ""
}

func isCgroup2(h string) bool {
	_, err := os.Stat(filepath.Join(h, "cgroup.controllers"))
	return err == nil
}

// enableControllers turns on, in dir's subtree_control, the controllers the
// kubelet needs that dir has.
func enableControllers(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return err
	}
	var on []string
	for _, c := range strings.Fields(string(b)) {
		switch c {
		case "cpu", "cpuset", "memory", "pids", "io", "hugetlb":
			on = append(on, "+"+c)
		}
	}
	if len(on) == 0 {
		return nil
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte(strings.Join(on, " ")), 0); err != nil {
		return fmt.Errorf("enable %v in %s: %w", on, dir, err)
	}
	return nil
}

// copyIfEmpty copies src to dst when dst exists and holds nothing but
// whitespace (a new cpuset cgroup); absent files are not an error.
func copyIfEmpty(src, dst string) error {
	cur, err := os.ReadFile(dst)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil || strings.TrimSpace(string(cur)) != "" {
		return err
	}
	v, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.WriteFile(dst, v, 0); err != nil {
		return fmt.Errorf("cgroup %s: %w", dst, err)
	}
	return nil
}

// CgroupPIDs lists the processes in root's subtree of every hierarchy.
func CgroupPIDs(hierarchies []string, root string) ([]int, error) {
	seen := map[int]bool{}
	for _, h := range hierarchies {
		top := filepath.Join(h, root)
		err := filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if !d.IsDir() {
				return nil
			}
			b, err := os.ReadFile(filepath.Join(p, "cgroup.procs"))
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil {
				return err
			}
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil {
					seen[pid] = true
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	out := make([]int, 0, len(seen))
	for pid := range seen {
		out = append(out, pid)
	}
	slices.Sort(out)
	return out, nil
}

// RemoveCgroup removes root's subtree from every hierarchy, deepest first,
// once no process is left in it (it waits up to timeout for exits already
// under way); it never kills.
func RemoveCgroup(hierarchies []string, root string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	if err := waitCgroupEmpty(hierarchies, root, deadline); err != nil {
		return err
	}
	var errs []error
	for _, h := range hierarchies {
		top := filepath.Join(h, root)
		var dirs []string
		_ = filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		// Deepest first: a cgroup with children cannot be removed.
		slices.SortFunc(dirs, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
		for _, d := range dirs {
			if err := rmdirRetry(d, deadline); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// rmdirRetry removes a cgroup directory; EBUSY right after the last task
// exited is retried until deadline.
func rmdirRetry(d string, deadline time.Time) error {
	for {
		err := os.Remove(d)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("remove cgroup %s: %w", d, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitCgroupEmpty polls until root's subtree holds no process, or deadline.
func waitCgroupEmpty(hierarchies []string, root string, deadline time.Time) error {
	for {
		pids, err := CgroupPIDs(hierarchies, root)
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroup %s still holds processes %v", root, pids)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
