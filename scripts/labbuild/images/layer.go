package main

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Layer is one layer of an image: a staged root directory (all of it), files placed at
// paths, and empty directories. Whatever a path needs above it is added as a directory.
type Layer struct {
	// Root is a staged filesystem tree (scripts/lab-images.sh makes them); "" for none.
	Root string
	// Files are host files copied to absolute paths in the image.
	Files []File
	// Dirs are empty directories the layer creates (an image's WORKDIR), mode 0755.
	Dirs []string
}

// File places the host file Source at the image path Path with Mode's permission bits
// (0 keeps the source's). A directory Source is copied whole, as a staged root.
type File struct {
	Path, Source string
	Mode         fs.FileMode
}

// epoch is every entry's modification time: the same inputs give the same bytes.
var epoch = time.Unix(0, 0).UTC()

// entry is one tar entry before it is written: its header and, for a regular file, where
// its content is.
type entry struct {
	hdr    tar.Header
	source string
	ino    *inode // set for a file with more than one link
}

// Entries lists what the layer holds, sorted by path, parents before children, without reading
// file contents: the plan WriteTar writes. Paths are relative ("usr/bin/fortio"), directories
// end in "/".
func (l Layer) Entries() ([]tar.Header, error) {
	es, err := l.entries()
	if err != nil {
		return nil, err
	}
	hdrs := make([]tar.Header, len(es))
	for i, e := range es {
		hdrs[i] = e.hdr
	}
	return hdrs, nil
}

func (l Layer) entries() ([]entry, error) {
	byName := map[string]entry{}
	// Keyed without a directory's trailing slash, so that a file and a directory of one path collide.
	add := func(e entry) error {
		key := strings.TrimSuffix(e.hdr.Name, "/")
		if old, dup := byName[key]; dup {
			if old.hdr.Typeflag != tar.TypeDir || e.hdr.Typeflag != tar.TypeDir {
				return fmt.Errorf("images: %s is in the layer twice", key)
			}
			return nil // a directory named twice keeps its first owner and mode
		}
		byName[key] = e
		return nil
	}
	if l.Root != "" {
		if err := walkTree(l.Root, "", add); err != nil {
			return nil, err
		}
	}
	for _, f := range l.Files {
		rel, err := relPath(f.Path)
		if err != nil {
			return nil, err
		}
		st, err := os.Stat(f.Source)
		if err != nil {
			return nil, fmt.Errorf("images: %s for %s: %w", f.Source, f.Path, err)
		}
		if st.IsDir() {
			if err := walkTree(f.Source, rel, add); err != nil {
				return nil, err
			}
			continue
		}
		mode := st.Mode().Perm()
		if f.Mode != 0 {
			mode = f.Mode.Perm()
		}
		if err := add(entry{hdr: fileHeader(rel, mode, st.Size()), source: f.Source}); err != nil {
			return nil, err
		}
	}
	for _, d := range l.Dirs {
		rel, err := relPath(d)
		if err != nil {
			return nil, err
		}
		if err := add(entry{hdr: dirHeader(rel, 0o755, 0, 0)}); err != nil {
			return nil, err
		}
	}
	// Parents of every entry, as a tar extractor would need them (and as docker build makes them).
	for key := range byName {
		for dir := path.Dir(key); dir != "."; dir = path.Dir(dir) {
			if _, ok := byName[dir]; !ok {
				byName[dir] = entry{hdr: dirHeader(dir, 0o755, 0, 0)}
			} else if byName[dir].hdr.Typeflag != tar.TypeDir {
				return nil, fmt.Errorf("images: %s is not a directory but has %s under it", dir, key)
			}
		}
	}
	out := make([]entry, 0, len(byName))
	for _, e := range byName {
		out = append(out, e)
	}
	// Sorted by path components, so that a directory precedes everything under it.
	slices.SortFunc(out, func(a, b entry) int {
		return slices.Compare(strings.Split(strings.TrimSuffix(a.hdr.Name, "/"), "/"),
			strings.Split(strings.TrimSuffix(b.hdr.Name, "/"), "/"))
	})
	// Of the paths of one inode, the first in this order holds the content, the others link to it.
	first := map[inode]string{}
	for i := range out {
		e := &out[i]
		if e.ino == nil {
			continue
		}
		if f, ok := first[*e.ino]; ok {
			e.hdr.Typeflag, e.hdr.Size, e.hdr.Linkname, e.source = tar.TypeLink, 0, f, ""
			continue
		}
		first[*e.ino] = e.hdr.Name
	}
	return out, nil
}

type inode struct{ dev, ino uint64 }

// walkTree adds every entry under root (not root itself), named under prefix, with the
// tree's owners, permission bits and symlinks as they are.
func walkTree(root, prefix string, add func(entry) error) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("images: %w", err)
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		name := path.Join(prefix, filepath.ToSlash(rel))
		st, err := os.Lstat(p)
		if err != nil {
			return fmt.Errorf("images: %w", err)
		}
		sys, ok := st.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("images: %s: no owner information", p)
		}
		uid, gid := int(sys.Uid), int(sys.Gid)
		mode := tarMode(st.Mode())
		switch {
		case st.Mode().IsDir():
			return add(entry{hdr: dirHeader(name, mode, uid, gid)})
		case st.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return fmt.Errorf("images: %w", err)
			}
			h := tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777,
				Uid: uid, Gid: gid, ModTime: epoch}
			return add(entry{hdr: h})
		case st.Mode().IsRegular():
			h := fileHeader(name, 0, st.Size())
			h.Mode, h.Uid, h.Gid = mode, uid, gid
			e := entry{hdr: h, source: p}
			if sys.Nlink > 1 {
				e.ino = &inode{uint64(sys.Dev), sys.Ino}
			}
			return add(e)
		default:
			return fmt.Errorf("images: %s: %s files are not staged in images", p, st.Mode().Type())
		}
	})
}

// tarMode keeps the permission, setuid, setgid and sticky bits in tar's encoding.
func tarMode(m fs.FileMode) int64 {
	mode := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}

func fileHeader(name string, mode fs.FileMode, size int64) tar.Header {
	return tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: int64(mode), Size: size, ModTime: epoch}
}

func dirHeader(name string, mode int64, uid, gid int) tar.Header {
	return tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimSuffix(name, "/") + "/", Mode: mode,
		Uid: uid, Gid: gid, ModTime: epoch}
}

// relPath turns an absolute image path into a tar name.
func relPath(p string) (string, error) {
	if !path.IsAbs(p) || path.Clean(p) != p || p == "/" {
		return "", fmt.Errorf("images: %q is not a clean absolute path below /", p)
	}
	return p[1:], nil
}

// WriteTar writes the layer as an uncompressed tar: sorted entries, fixed times, no
// user or group names, so that the same inputs give the same bytes.
func (l Layer) WriteTar(w io.Writer) error {
	es, err := l.entries()
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	for _, e := range es {
		hdr := e.hdr
		if err := tw.WriteHeader(&hdr); err != nil {
			return fmt.Errorf("images: %s: %w", hdr.Name, err)
		}
		if e.source == "" || hdr.Typeflag != tar.TypeReg {
			continue
		}
		if err := copyFile(tw, e.source, hdr.Size); err != nil {
			return err
		}
	}
	return tw.Close()
}

func copyFile(w io.Writer, src string, size int64) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("images: %w", err)
	}
	defer f.Close()
	n, err := io.Copy(w, io.LimitReader(f, size))
	if err != nil {
		return fmt.Errorf("images: %s: %w", src, err)
	}
	if n != size {
		return fmt.Errorf("images: %s changed while it was read (%d of %d bytes)", src, n, size)
	}
	return nil
}

// errMissing marks inputs that are not built or staged yet.
var errMissing = errors.New("not built")
