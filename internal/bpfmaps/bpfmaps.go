// Package bpfmaps reads a dataplane's BPF maps from bpftool's output: which
// maps an agent pinned, their kind, size limit, fill and memory (W-BUG-8:
// the seed asserted "pre-allocated, does not grow" and never measured it).
//
// Memory is the kernel's bytes_memlock (fdinfo's memlock). Since about Linux
// 6.4 it is map_mem_usage: for a hash map created without preallocation
// (BPF_F_NO_PREALLOC, Cilium's Service maps) the bucket array plus the live
// elements, so it grows with what the map holds; for preallocated and LRU
// maps the whole capacity from the start. Both are recorded per map, so a
// report can tell which part grows.
//
// The package is pure: callers run bpftool (in the agent's pod, whose mount
// namespace holds its bpffs) and hand the output here.
package bpfmaps

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// noPrealloc is BPF_F_NO_PREALLOC in a map's flags.
const noPrealloc = 1

// Map is one BPF map as `bpftool -j -f map show` lists it.
type Map struct {
	ID int `json:"id"`
	// Name is the pinned file's name (the kernel keeps 15 characters of a
	// map's own name; the pin has the whole name, cilium_lb4_services_v2).
	Name string `json:"name"`
	// Type is the kernel map type (hash, lru_hash, lpm_trie, ...).
	Type       string `json:"type"`
	MaxEntries int    `json:"max_entries"`
	// Bytes is bytes_memlock.
	Bytes int64 `json:"bytes"`
	// Preallocated is false for hash-like maps created with
	// BPF_F_NO_PREALLOC: their Bytes follow their entries.
	Preallocated bool `json:"preallocated"`
	// Entries is the number of elements, when counted (-1: not counted).
	Entries int `json:"entries"`
	// Pinned are the map's paths in the bpffs bpftool saw.
	Pinned []string `json:"pinned,omitempty"`
}

// Fill is Entries / MaxEntries, or -1 when not counted.
func (m Map) Fill() float64 {
	if m.Entries < 0 || m.MaxEntries <= 0 {
		return -1
	}
	return float64(m.Entries) / float64(m.MaxEntries)
}

// ParseShow reads `bpftool -j -f map show`. bpftool lists every map of the
// machine; -f adds the paths each is pinned at in the bpffs of bpftool's
// mount namespace.
func ParseShow(b []byte) ([]Map, error) {
	var raw []struct {
		ID           *int     `json:"id"`
		Type         string   `json:"type"`
		Name         string   `json:"name"`
		Flags        int      `json:"flags"`
		MaxEntries   int      `json:"max_entries"`
		BytesMemlock *int64   `json:"bytes_memlock"`
		Pinned       []string `json:"pinned"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("bpftool -j map show: %w", err)
	}
	out := make([]Map, 0, len(raw))
	for i, r := range raw {
		if r.ID == nil || r.Type == "" {
			return nil, fmt.Errorf("bpftool -j map show: entry %d has no id or type", i)
		}
		if r.BytesMemlock == nil {
			return nil, fmt.Errorf("bpftool -j map show: map %d (%s) has no bytes_memlock", *r.ID, r.Name)
		}
		name := r.Name
		if len(r.Pinned) > 0 {
			name = path.Base(r.Pinned[0])
		}
		out = append(out, Map{
			ID: *r.ID, Name: name, Type: r.Type, MaxEntries: r.MaxEntries, Bytes: *r.BytesMemlock,
			Preallocated: !hashLike(r.Type) || r.Flags&noPrealloc == 0, Entries: -1, Pinned: r.Pinned,
		})
	}
	return out, nil
}

// hashLike reports the map types BPF_F_NO_PREALLOC applies to.
func hashLike(typ string) bool {
	switch typ {
	case "hash", "percpu_hash", "hash_of_maps", "lpm_trie":
		return true
	}
	return false
}

// Cilium keeps the maps one Cilium agent pinned (named cilium_*, pinned in
// the bpffs bpftool saw: the agent's own on a node that runs several),
// sorted by name.
func Cilium(maps []Map) []Map {
	var out []Map
	for _, m := range maps {
		if len(m.Pinned) > 0 && strings.HasPrefix(m.Name, "cilium_") {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Total is the maps' memory in bytes.
func Total(maps []Map) int64 {
	var n int64
	for _, m := range maps {
		n += m.Bytes
	}
	return n
}

var foundRE = regexp.MustCompile(`(?m)^Found (\d+) elements?\s*$`)

// ParseDumpCount reads the element count bpftool prints at the end of a
// plain `bpftool map dump` ("Found 1234 elements").
func ParseDumpCount(out string) (int, error) {
	m := foundRE.FindAllStringSubmatch(out, -1)
	if len(m) != 1 {
		return 0, fmt.Errorf("bpftool map dump: want one \"Found N elements\" line, got %d", len(m))
	}
	return strconv.Atoi(m[0][1])
}
