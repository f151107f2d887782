package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Dir is where the archives and their index are: <cache>/images.
func Dir(cache Cache) string { return filepath.Join(cache.Root, "images") }

// IndexFile lists the built archives (reference, path, digest, the sandbox image marked) as
// JSON; the lab reads it to import the archives into its nodes.
const IndexFile = "index.json"

type indexEntry struct {
	Archive
	// Inputs identifies what the archive was built from (see inputsKey).
	Inputs string `json:"inputs"`
}

// Ensure builds every image whose archive is missing or whose inputs changed, and returns the
// archives to import into a node's containerd, in Specs order; the index lists those and
// nothing else. An optional image whose inputs are not in the cache is left out (logged); a
// missing input of another is an error that says how to make it. One Ensure at a time per
// cache (a lock file).
func Ensure(ctx context.Context, cache Cache, log *slog.Logger) ([]Archive, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir := Dir(cache)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	unlock, err := lock(filepath.Join(dir, ".lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	index, err := readIndex(filepath.Join(dir, IndexFile))
	if err != nil {
		return nil, err
	}
	var out []Archive
	var missing []string
	for _, s := range Specs(cache) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if m := s.Missing(); len(m) > 0 {
			if s.Optional {
				log.Info("image not built: its inputs are not in the cache", "ref", s.Ref, "missing", strings.Join(m, ", "))
				continue
			}
			missing = append(missing, fmt.Sprintf("%s (%s)", s.Ref, strings.Join(m, ", ")))
			continue
		}
		a, err := ensureOne(s, dir, index, log)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	current := map[string]indexEntry{}
	for _, a := range out {
		current[a.Ref] = index[a.Ref]
	}
	if err := writeIndex(filepath.Join(dir, IndexFile), current); err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("images: inputs missing for %s: run `make lab-bins lab-images` (scripts/lab-build.sh, scripts/lab-images.sh) first: %w",
			strings.Join(missing, "; "), errMissing)
	}
	return out, nil
}

func ensureOne(s Spec, dir string, index map[string]indexEntry, log *slog.Logger) (Archive, error) {
	key, err := inputsKey(s)
	if err != nil {
		return Archive{}, err
	}
	path := filepath.Join(dir, s.FileName())
	if e, ok := index[s.Ref]; ok && e.Inputs == key && e.Path == path {
		if st, err := os.Stat(path); err == nil && st.Size() == e.Size {
			e.Sandbox = s.Sandbox
			index[s.Ref] = e
			return e.Archive, nil
		}
	}
	start := time.Now()
	a, err := s.Build(path)
	if err != nil {
		return Archive{}, err
	}
	a.Sandbox = s.Sandbox
	index[s.Ref] = indexEntry{Archive: a, Inputs: key}
	log.Info("image built", "ref", a.Ref, "digest", a.Digest, "size", a.Size, "took", time.Since(start).Round(time.Millisecond))
	return a, nil
}

// builderVersion changes whenever Build writes something else from the same inputs, so that
// archives of an older builder are rebuilt.
const builderVersion = "oci-archive/1"

// inputsKey hashes what the archive depends on: the builder, the configuration, and each entry's header
// with its source's size and modification time (contents are not read: a rebuild of a cached
// binary changes its time).
func inputsKey(s Spec) (string, error) {
	h := sha256.New()
	cf, err := json.Marshal(s.ConfigFile())
	if err != nil {
		return "", err
	}
	fmt.Fprintf(h, "%s\n%s\n%s\n", builderVersion, s.Ref, cf)
	for i, l := range s.Layers {
		es, err := l.entries()
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "layer %d\n", i)
		for _, e := range es {
			var mtime int64
			if e.source != "" {
				st, err := os.Stat(e.source)
				if err != nil {
					return "", fmt.Errorf("images: %w", err)
				}
				mtime = st.ModTime().UnixNano()
			}
			fmt.Fprintf(h, "%q %c %o %d:%d %d %q %d\n", e.hdr.Name, e.hdr.Typeflag, e.hdr.Mode, e.hdr.Uid, e.hdr.Gid, e.hdr.Size, e.hdr.Linkname, mtime)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func readIndex(p string) (map[string]indexEntry, error) {
	index := map[string]indexEntry{}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return index, nil
	}
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	var list []indexEntry
	if err := json.Unmarshal(b, &list); err != nil {
		// A damaged index only costs a rebuild.
		return index, nil
	}
	for _, e := range list {
		index[e.Ref] = e
	}
	return index, nil
}

func writeIndex(p string, index map[string]indexEntry) error {
	list := make([]indexEntry, 0, len(index))
	for _, e := range index {
		list = append(list, e)
	}
	sortEntries(list)
	b, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("images: %w", err)
	}
	return os.Rename(tmp, p)
}

func sortEntries(list []indexEntry) {
	slices.SortFunc(list, func(a, b indexEntry) int { return strings.Compare(a.Ref, b.Ref) })
}

// lock takes an exclusive flock on p, waiting for another holder.
func lock(p string) (func(), error) {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("images: lock %s: %w", p, err)
	}
	return func() { f.Close() }, nil
}
