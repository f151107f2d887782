// Package results is a run's results directory: <root>/<run ID>/ holds
// run.json (report.Manifest: the run, its fingerprint, every dimension's
// status and files) and each dimension's files, all written through Dir.
// Read loads a directory back for the report, the gate and the importer.
package results

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"kube-netbench/internal/report"
)

// ManifestFile is the manifest's name inside a run's directory.
const ManifestFile = "run.json"

// Dir is one run's results directory, safe for concurrent use.
type Dir struct {
	// Path is the directory, <root>/<run ID>.
	Path string
	mu   sync.Mutex
	m    report.Manifest
}

// View is a file derived from a dimension's results, e.g. the seed
// script's benchmark-summary.json.
type View struct {
	// Name is the file's name inside the run's directory.
	Name string
	// Write writes its content.
	Write func(io.Writer) error
}

// Create makes <root>/<id> and writes its manifest. A directory that
// already holds a manifest is refused: two runs under one ID would mix.
func Create(root, id string, started time.Time) (*Dir, error) {
	if id == "" || !filepath.IsLocal(id) || filepath.Base(id) != id {
		return nil, fmt.Errorf("results: run ID %q cannot name a directory (one path element, no ..)", id)
	}
	d := &Dir{Path: filepath.Join(root, id), m: report.Manifest{ID: id, Started: started}}
	if err := os.MkdirAll(d.Path, 0o755); err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	if _, err := os.Stat(filepath.Join(d.Path, ManifestFile)); err == nil {
		return nil, fmt.Errorf("results: %s already holds a run's manifest; set RUN_ID to a new value or move it away", d.Path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("results: %w", err)
	}
	return d, d.writeManifest()
}

// Put writes a dimension's results as <name>.json (report.WriteJSON),
// <name>.bench.txt (report.WriteBenchfmt) and its views, then records the
// dimension with status and message in the manifest. The run's fingerprint
// is the first dimension's, with every dimension's tools.
func (d *Dir) Put(name string, run report.Run, status, message string, views ...View) error {
	if err := run.Validate(); err != nil {
		return fmt.Errorf("results %s: %w", name, err)
	}
	files := []View{
		{Name: name + ".json", Write: func(w io.Writer) error { return report.WriteJSON(w, run) }},
		{Name: name + ".bench.txt", Write: func(w io.Writer) error { return report.WriteBenchfmt(w, run) }},
	}
	files = append(files, views...)
	var names []string
	for _, f := range files {
		if err := writeFile(filepath.Join(d.Path, f.Name), f.Write); err != nil {
			return fmt.Errorf("results %s: %w", name, err)
		}
		names = append(names, f.Name)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.m.Dimensions) == 0 || d.m.Fingerprint.Dataplane == "" {
		tools := d.m.Fingerprint.Tools
		d.m.Fingerprint = run.Fingerprint
		d.m.Fingerprint.Tools = report.MergeTools(run.Fingerprint.Tools, tools)
	} else {
		d.m.Fingerprint.Tools = report.MergeTools(d.m.Fingerprint.Tools, run.Fingerprint.Tools)
	}
	return d.record(report.Dimension{Name: name, Status: status, Message: message, Files: names})
}

// Record records a dimension that wrote no results (skipped, or broken
// before it measured), or updates the status of one that did.
func (d *Dir) Record(name, status, message string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	dim := report.Dimension{Name: name, Status: status, Message: message}
	if i := d.index(name); i >= 0 {
		dim.Files = d.m.Dimensions[i].Files
	}
	return d.record(dim)
}

// Has reports whether the dimension is recorded.
func (d *Dir) Has(name string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.index(name) >= 0
}

// Finish records the run's end.
func (d *Dir) Finish(t time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.m.Finished = t
	return d.writeManifest()
}

// Manifest returns a copy of the manifest as written last.
func (d *Dir) Manifest() report.Manifest {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := d.m
	m.Dimensions = slices.Clone(m.Dimensions)
	return m
}

func (d *Dir) index(name string) int {
	return slices.IndexFunc(d.m.Dimensions, func(x report.Dimension) bool { return x.Name == name })
}

func (d *Dir) record(dim report.Dimension) error {
	if i := d.index(dim.Name); i >= 0 {
		d.m.Dimensions[i] = dim
	} else {
		d.m.Dimensions = append(d.m.Dimensions, dim)
	}
	return d.writeManifest()
}

// writeManifest replaces run.json atomically, so that a reader (or a run
// interrupted mid-write) never sees half a manifest.
func (d *Dir) writeManifest() error {
	m := d.m
	return writeFile(filepath.Join(d.Path, ManifestFile), func(w io.Writer) error { return report.WriteManifest(w, m) })
}

// writeFile writes path through a temporary file renamed into place.
func writeFile(path string, write func(io.Writer) error) error {
	var b bytes.Buffer
	if err := write(&b); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// Loaded is a run's directory read back.
type Loaded struct {
	// Dir is the directory read.
	Dir string
	// Manifest is its run.json.
	Manifest report.Manifest
	// Runs are the dimensions' results, in manifest order; a dimension
	// without a results file has none.
	Runs []DimensionRun
}

// DimensionRun is one dimension's entry and its results.
type DimensionRun struct {
	Dimension report.Dimension
	Run       report.Run
}

// Read reads the run in dir: its manifest and each dimension's results
// file. A listed file that is missing or does not read is an error naming
// it: a manifest that promises results it does not have is not a run.
func Read(dir string) (Loaded, error) {
	l := Loaded{Dir: dir}
	f, err := os.Open(filepath.Join(dir, ManifestFile))
	if err != nil {
		return l, fmt.Errorf("results: %w (a run's directory holds %s)", err, ManifestFile)
	}
	defer f.Close()
	if l.Manifest, err = report.ReadManifest(f); err != nil {
		return l, fmt.Errorf("results %s: %w", dir, err)
	}
	var errs []error
	for _, dim := range l.Manifest.Dimensions {
		for _, name := range dim.Files {
			if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(name))); err != nil {
				errs = append(errs, fmt.Errorf("dimension %s: %w", dim.Name, err))
			}
		}
		name := dim.RunFile()
		if name == "" {
			continue
		}
		run, err := readRun(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			errs = append(errs, fmt.Errorf("dimension %s: %w", dim.Name, err))
			continue
		}
		l.Runs = append(l.Runs, DimensionRun{Dimension: dim, Run: run})
	}
	if len(errs) > 0 {
		return l, fmt.Errorf("results %s: %w", dir, errors.Join(errs...))
	}
	return l, nil
}

func readRun(path string) (report.Run, error) {
	f, err := os.Open(path)
	if err != nil {
		return report.Run{}, err
	}
	defer f.Close()
	run, err := report.ReadJSON(f)
	if err != nil {
		return report.Run{}, fmt.Errorf("%s: %w", path, err)
	}
	return run, nil
}

// IsRun reports whether dir is a run's directory (holds a manifest).
func IsRun(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, ManifestFile))
	return err == nil
}
