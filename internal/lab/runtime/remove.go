package runtime

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Remove deletes spec.RootDir after the container has ended. The container's own mounts live in
// its private mount namespace and vanished with it, so the caller's mount table normally has
// nothing under RootDir; if it has (a mount leaked by someone else), those mounts are detached
// first, and if any remains Remove fails without deleting anything, because deleting through a
// bind mount would delete the host's files. A RootDir that does not exist is not an error.
func Remove(spec Spec) error {
	dir := filepath.Clean(spec.RootDir)
	if !filepath.IsAbs(dir) || dir == "/" {
		return fmt.Errorf("remove container %s: RootDir %q must be an absolute path other than /", spec.ID, spec.RootDir)
	}
	real, err := filepath.EvalSymlinks(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove container %s: resolve RootDir: %w", spec.ID, err)
	}
	if err := unmountUnder(real); err != nil {
		return fmt.Errorf("remove container %s: %w", spec.ID, err)
	}
	if err := os.RemoveAll(real); err != nil {
		return fmt.Errorf("remove container %s: %w", spec.ID, err)
	}
	return nil
}

// unmountUnder detaches every mount of the caller's mount namespace at or below dir, deepest
// first, and fails if any is still there afterwards.
func unmountUnder(dir string) error {
	mounts, err := mountPointsUnder(dir)
	if err != nil || len(mounts) == 0 {
		return err
	}
	slices.SortFunc(mounts, func(a, b string) int { return depth(b) - depth(a) })
	var errs []error
	for _, m := range mounts {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
			errs = append(errs, fmt.Errorf("detach %s: %w", m, err))
		}
	}
	left, err := mountPointsUnder(dir)
	if err != nil {
		return err
	}
	if len(left) > 0 {
		errs = append(errs, fmt.Errorf("still mounted under %s, nothing deleted: %s", dir, strings.Join(left, ", ")))
		return errors.Join(errs...)
	}
	return nil
}

// mountPointsUnder lists the mount points of the caller's mount namespace at or below dir.
func mountPointsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mount table: %w", err)
	}
	defer f.Close()
	all, err := parseMountPoints(f)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range all {
		if m == dir || strings.HasPrefix(m, dir+"/") {
			out = append(out, m)
		}
	}
	return out, nil
}

// parseMountPoints returns the mount point (fifth field) of each line of a mountinfo file,
// unescaped.
func parseMountPoints(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			return nil, fmt.Errorf("mountinfo: malformed line %q", sc.Text())
		}
		out = append(out, unescapeOctal(fields[4]))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("mountinfo: %w", err)
	}
	return out, nil
}

// unescapeOctal undoes the kernel's \ooo escaping of space, tab, newline and backslash.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
