package report

import (
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// ManifestSchema is the value of a run manifest's "schema" field.
const ManifestSchema = "kube-netbench/run/v1"

// Manifest describes one run's results directory: what ran, on what, how
// each dimension ended and which files hold its results. A dimension that
// produced nothing still has an entry with its status and reason (W-OPS-8).
type Manifest struct {
	// ID is the run ID, the value of the run-ID label on everything the run
	// created, and the results directory's name.
	ID string
	// Started and Finished bound the run; Finished is zero while it runs
	// and when it was interrupted.
	Started, Finished time.Time
	// Fingerprint is the run's provenance: the first dimension's, with the
	// tools of every dimension.
	Fingerprint Fingerprint
	// Dimensions are the dimensions the run started, in order.
	Dimensions []Dimension
}

// Dimension is one dimension's outcome in a run.
type Dimension struct {
	// Name is the dimension's name as files and labels carry it, e.g. "rps".
	Name string
	// Status is StatusPassed, StatusFailed, StatusSkipped or StatusError.
	Status string
	// Message says why, for anything but passed.
	Message string
	// Files are the dimension's result files, relative to the run's
	// directory; the first with the ".json" suffix is its Run.
	Files []string
}

// RunFile is the dimension's report.Run file, "" when it wrote none.
func (d Dimension) RunFile() string {
	for _, f := range d.Files {
		if strings.HasSuffix(f, ".json") {
			return f
		}
	}
	return ""
}

// Validate reports every reason m is not a usable manifest.
func (m Manifest) Validate() error {
	errs := checkSpan(m.ID, m.Started, m.Finished)
	seen := map[string]bool{}
	for i, d := range m.Dimensions {
		errs = append(errs, checkOutcome("dimension", i, d.Name, d.Status, seen)...)
		for _, f := range d.Files {
			if f == "" || path.IsAbs(f) || !filepath.IsLocal(filepath.FromSlash(f)) {
				errs = append(errs, fmt.Errorf("dimension %s: file %q is not a path inside the run's directory", d.Name, f))
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidRun, errors.Join(errs...))
	}
	return nil
}

// WriteManifest writes m as indented JSON, after validating it:
//
//	{
//	  "schema": "kube-netbench/run/v1",
//	  "id": string, "started": RFC 3339, "finished": RFC 3339 | null,
//	  "fingerprint": { as in the report schema },
//	  "dimensions": [{"name", "status", "message": string, "files": [string]}]
//	}
func WriteManifest(w io.Writer, m Manifest) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	j := jsonManifest{jsonHead: newHead(ManifestSchema, m.ID, m.Started, m.Finished, m.Fingerprint), Dimensions: []jsonDimension{}}
	for _, d := range m.Dimensions {
		j.Dimensions = append(j.Dimensions, jsonDimension{Name: d.Name, Status: d.Status,
			Message: d.Message, Files: append([]string{}, d.Files...)})
	}
	if err := encode(w, j); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	return nil
}

// ReadManifest reads a manifest written by WriteManifest; unknown fields,
// another schema and an invalid manifest are errors.
func ReadManifest(r io.Reader) (Manifest, error) {
	j, err := decodeSchema[jsonManifest](r, ManifestSchema, func(j jsonManifest) string { return j.Schema })
	if err != nil {
		return Manifest{}, fmt.Errorf("read manifest: %w", err)
	}
	m := Manifest{ID: j.ID, Started: j.Started, Fingerprint: fingerprintFromJSON(j.Fingerprint)}
	if j.Finished != nil {
		m.Finished = *j.Finished
	}
	for _, d := range j.Dimensions {
		m.Dimensions = append(m.Dimensions, Dimension{Name: d.Name, Status: d.Status, Message: d.Message,
			Files: slices.Clip(d.Files)})
	}
	for i := range m.Dimensions {
		if len(m.Dimensions[i].Files) == 0 {
			m.Dimensions[i].Files = nil
		}
	}
	if err := m.Validate(); err != nil {
		return Manifest{}, fmt.Errorf("read manifest: %w", err)
	}
	return m, nil
}

type jsonManifest struct {
	jsonHead
	Dimensions []jsonDimension `json:"dimensions"`
}

type jsonDimension struct {
	Name    string   `json:"name"`
	Status  string   `json:"status"`
	Message string   `json:"message"`
	Files   []string `json:"files"`
}

// MergeTools returns a's tools followed by those of b that a has not, by
// name and image: a run's fingerprint lists every tool any dimension ran.
func MergeTools(a, b []Tool) []Tool {
	out := slices.Clone(a)
	for _, t := range b {
		if !slices.ContainsFunc(out, func(o Tool) bool { return o.Name == t.Name && o.Image == t.Image }) {
			out = append(out, t)
		}
	}
	return out
}
