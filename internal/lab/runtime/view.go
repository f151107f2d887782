package runtime

import (
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// The planner's view of the container's filesystem, and path resolution inside it.

// resolve follows the symlinks of target's existing prefix inside the container's view (absolute
// links restart at the container's root, ".." never leaves it) and appends the missing rest.
func (p *planner) resolve(target string) (string, error) {
	todo := components(target)
	cur, hops := "/", 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		if c == ".." {
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, c)
		n, err := p.get(next)
		if err != nil {
			return "", fmt.Errorf("resolve %s: %w", target, err)
		}
		switch n.kind {
		case kindMissing:
			if slices.Contains(todo, "..") {
				return "", fmt.Errorf("resolve %s: %s does not exist and the rest of the path climbs out of it", target, next)
			}
			return path.Join(append([]string{next}, todo...)...), nil
		case kindSymlink:
			if hops++; hops > maxSymlinks {
				return "", fmt.Errorf("resolve %s: too many levels of symbolic links", target)
			}
			if path.IsAbs(n.link) {
				cur = "/"
			}
			todo = append(components(n.link), todo...)
		case kindDir:
			cur = next
		default:
			if len(todo) > 0 {
				return "", fmt.Errorf("resolve %s: %s is not a directory", target, next)
			}
			cur = next
		}
	}
	return cur, nil
}

// get tells what is at a container path: inside a bound volume, the source's content; then what
// the plan creates; then the host's content for system and kernel directories.
func (p *planner) get(cpath string) (node, error) {
	if v, ok := p.volumeOf(cpath); ok {
		if cpath == v.target {
			return p.lookup(v.source, true)
		}
		return p.lookup(filepath.Join(v.source, strings.TrimPrefix(cpath, v.target)), false)
	}
	if n, ok := p.nodes[cpath]; ok {
		return n, nil
	}
	top := topOf(cpath)
	if p.hostDirs[top] || slices.Contains(kernelDirs, top) {
		return p.lookup(cpath, false)
	}
	return node{kind: kindMissing}, nil
}

// volumeOf returns the innermost Mount placed so far that contains cpath.
func (p *planner) volumeOf(cpath string) (volume, bool) {
	for _, v := range slices.Backward(p.volumes) {
		if cpath == v.target || strings.HasPrefix(cpath, v.target+"/") {
			return v, true
		}
	}
	return volume{}, false
}

// components splits a path into its names, dropping empty ones and "." but keeping "..".
func components(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	return out
}

func topOf(cpath string) string {
	top, _, _ := strings.Cut(strings.TrimPrefix(cpath, "/"), "/")
	return top
}

func depth(p string) int { return len(components(path.Clean(p))) }
