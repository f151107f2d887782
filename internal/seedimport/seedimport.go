package seedimport

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"kube-netbench/internal/report"
	"kube-netbench/internal/stats"
)

// File statuses in the per-file report.
const (
	// StatusImported: the file is a sample of its result.
	StatusImported = "imported"
	// StatusRejected: the file parsed but is not a sample by the suite's
	// rules (failed calls, a test other than its name says).
	StatusRejected = "rejected"
	// StatusUnparseable: the file is not an output of its tool.
	StatusUnparseable = "unparseable"
	// StatusMissing: the seed's layout has the file; the folder does not.
	StatusMissing = "missing"
	// StatusNotImported: the file is outside what the suite measures.
	StatusNotImported = "not imported"
	// StatusRead: context.yaml and benchmark-summary.json.
	StatusRead = "read"
)

// Files the seed writes at the top of its folder.
const (
	ContextFile = "context.yaml"
	SummaryFile = "benchmark-summary.json"
)

// File is one file of the folder, or one the layout expects, and what the
// import made of it.
type File struct {
	// Path is slash-separated, relative to the folder.
	Path string
	// Dimension is the suite's dimension, "" for a folder-level file.
	Dimension string
	Status    string
	// Reason says why, for anything but imported; for an imported file, its
	// caveats.
	Reason string
}

// Import is a seed folder read and re-summarized.
type Import struct {
	// Dir is the folder as given.
	Dir     string
	Context Context
	// Rounds is the seed's ROUNDS, the highest round of any file.
	Rounds int
	// Dataplane, KubeProxyMode and Key are the suite's names for the
	// seed's cluster_type.
	Dataplane, KubeProxyMode, Key string
	// Started is the seed's test_date.
	Started time.Time
	// Files lists every file of the folder and every missing one, by path.
	Files []File
	// Dims are the dimensions in the suite's order.
	Dims []Dim
	// Summary is the seed's benchmark-summary.json, nil without one.
	Summary map[string]any
	// Findings set the seed's numbers against ours.
	Findings []Finding
	// Tools are the load tools with the versions their files report.
	Tools []report.Tool
	// Config is what the files show of the seed's settings.
	Config map[string]string
}

// Dim is one dimension's imported results and status.
type Dim struct {
	Name            string
	Status, Message string
	Results         []report.Result
	// Tools are the load tools its files report.
	Tools     []report.Tool
	scenarios []scenarioResult
}

// scenarioResult is what one scenario's files gave.
type scenarioResult struct {
	scenario
	result  *report.Result
	used    []string // files that are samples
	left    []File   // files that are not (missing, unparseable, rejected)
	samples []sample
}

var roundFile = regexp.MustCompile(`^(throughput|rps|latency|service-scale)/.+_r([0-9]+)\.(json|txt)$`)

// Read reads the seed folder dir. It fails only when dir is not a seed
// folder (no directory, no readable context.yaml, an unknown cluster_type);
// every problem with a single file is reported in Files instead.
func Read(dir string) (*Import, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("DIR %s: %w", dir, err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("DIR %s is a file; give the seed's results folder (benchmark-results-<context>/)", dir)
	}
	b, err := os.ReadFile(filepath.Join(dir, ContextFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("DIR %s has no %s: not a seed results folder (the seed writes %s, throughput/, rps/, latency/, ... at its top)", dir, ContextFile, ContextFile)
	}
	if err != nil {
		return nil, fmt.Errorf("DIR %s: %w", dir, err)
	}
	im := &Import{Dir: dir, Config: map[string]string{}}
	if im.Context, err = parseContext(b); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ContextFile), err)
	}
	if im.Dataplane, im.KubeProxyMode, im.Key, err = dataplaneOf(im.Context.Values["cluster_type"]); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ContextFile), err)
	}
	if d := im.Context.Values["test_date"]; d != "" {
		if im.Started, err = time.Parse(time.RFC3339, d); err != nil {
			return nil, fmt.Errorf("%s: test_date %q is not an RFC 3339 time (the seed writes date -u +%%Y-%%m-%%dT%%H:%%M:%%SZ)", filepath.Join(dir, ContextFile), d)
		}
	} else {
		return nil, fmt.Errorf("%s: no test_date: the run's start is unknown", filepath.Join(dir, ContextFile))
	}
	present, err := listFiles(dir)
	if err != nil {
		return nil, fmt.Errorf("DIR %s: %w", dir, err)
	}
	im.Rounds = 1
	for p := range present {
		if m := roundFile.FindStringSubmatch(p); m != nil {
			if r, err := strconv.Atoi(m[2]); err == nil && r > im.Rounds && r < 1000 {
				im.Rounds = r
			}
		}
	}
	im.Config["ROUNDS"] = strconv.Itoa(im.Rounds)
	claimed := map[string]bool{ContextFile: true}
	im.Files = append(im.Files, File{Path: ContextFile, Status: StatusRead, Reason: "the run's fingerprint"})
	im.readSummary(present, claimed)

	all := scenarios()
	steps, stepFiles := im.scaleSteps(dir, present)
	stepFiles = append(stepFiles, im.endpoints(dir, present)...)
	for _, f := range stepFiles {
		claimed[f.Path] = true
		im.Files = append(im.Files, f)
	}
	for _, n := range steps {
		all = append(all, scaleScenarios(n)...)
	}
	if !slices.Contains(steps, 1000) && slices.ContainsFunc(slices.Collect(maps.Keys(present)), legacyScale.MatchString) {
		all = append(all, legacyScaleScenario())
	}
	cilium := strings.HasPrefix(im.Dataplane, "cilium-")
	im.Dims = make([]Dim, len(dimensions))
	byDim := map[string]*Dim{}
	for i, name := range dimensions {
		im.Dims[i].Name = name
		byDim[name] = &im.Dims[i]
	}
	for _, s := range all {
		if (s.dim == report.DimHubble || s.dim == report.DimPolicy) && !cilium {
			continue
		}
		sr := im.readScenario(dir, s, present, claimed)
		byDim[s.dim].scenarios = append(byDim[s.dim].scenarios, sr)
	}
	for p := range present {
		if !claimed[p] {
			im.Files = append(im.Files, File{Path: p, Dimension: seedDirs[strings.Split(p, "/")[0]], Status: StatusNotImported, Reason: notImported(dir, p, cilium)})
		}
	}
	sort.SliceStable(im.Files, func(i, j int) bool { return im.Files[i].Path < im.Files[j].Path })
	for i := range im.Dims {
		im.Dims[i].settle(cilium, im.Dataplane)
	}
	im.tools()
	im.findings()
	return im, nil
}

// listFiles returns the folder's regular files by slash path.
func listFiles(dir string) (map[string]bool, error) {
	out := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			out[filepath.ToSlash(rel)] = true
		}
		return nil
	})
	return out, err
}

func (im *Import) readSummary(present, claimed map[string]bool) {
	if !present[SummaryFile] {
		im.Files = append(im.Files, File{Path: SummaryFile, Status: StatusMissing, Reason: "the seed writes it last; without it there is nothing to set our numbers against"})
		return
	}
	claimed[SummaryFile] = true
	b, err := os.ReadFile(filepath.Join(im.Dir, SummaryFile))
	if err == nil {
		err = json.Unmarshal(b, &im.Summary)
	}
	if err != nil {
		im.Summary = nil
		im.Files = append(im.Files, File{Path: SummaryFile, Status: StatusUnparseable, Reason: err.Error()})
		return
	}
	im.Files = append(im.Files, File{Path: SummaryFile, Status: StatusRead, Reason: "the seed's own numbers, set against ours in the findings"})
}

// readScenario parses every file of s.
func (im *Import) readScenario(dir string, s scenario, present, claimed map[string]bool) scenarioResult {
	sr := scenarioResult{scenario: s}
	n := 1
	if s.rounds {
		n = im.Rounds
	}
	for r := 1; r <= n; r++ {
		p := s.file(r)
		claimed[p] = true
		f := File{Path: p, Dimension: s.dim}
		if !present[p] {
			f.Status, f.Reason = StatusMissing, "the seed's layout has it; the seed leaves no file when a run fails to produce one"
			im.Files = append(im.Files, f)
			sr.left = append(sr.left, f)
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		var smp sample
		if err == nil {
			smp, err = parse(s, b)
		}
		switch {
		case err != nil:
			f.Status, f.Reason = StatusUnparseable, err.Error()
		case smp.rejected != "":
			f.Status, f.Reason = StatusRejected, smp.rejected
		default:
			f.Status, f.Reason = StatusImported, strings.Join(smp.notes, "; ")
			sr.used = append(sr.used, p)
			sr.samples = append(sr.samples, smp)
		}
		im.Files = append(im.Files, f)
		if f.Status != StatusImported {
			sr.left = append(sr.left, f)
		}
	}
	if len(sr.samples) > 0 {
		res, err := result(s, im.Key, sr.samples)
		if err != nil {
			sr.left = append(sr.left, File{Path: s.base, Dimension: s.dim, Status: StatusUnparseable, Reason: err.Error()})
		} else {
			sr.result = &res
		}
	}
	return sr
}

// result summarizes a scenario's samples: rates with stats.Summarize,
// percentiles across rounds, never averaged (W-STAT-2).
func result(s scenario, key string, samples []sample) (report.Result, error) {
	res := report.Result{Name: s.name, Keys: append([]report.KV{{Key: "dataplane", Value: key}}, s.keys...)}
	for i, u := range units[s.kind] {
		vals := make([]float64, len(samples))
		for j, smp := range samples {
			vals[j] = smp.vals[i]
		}
		var m report.Metric
		var err error
		if u.pct > 0 {
			var sm stats.Summary
			sm, err = stats.PercentileAcrossRounds(vals, stats.DefaultConfidence)
			m = report.Metric{Unit: u.name, Better: u.better, Samples: vals, Summary: sm}
		} else {
			m, err = report.NewMetric(u.name, u.better, vals, stats.DefaultConfidence)
		}
		if err != nil {
			return report.Result{}, fmt.Errorf("%s %s: %w", res.BenchmarkName(), u.name, err)
		}
		res.Metrics = append(res.Metrics, m)
	}
	return res, nil
}

// settle sets the dimension's results, status and message.
func (d *Dim) settle(cilium bool, dataplane string) {
	if (d.Name == report.DimHubble || d.Name == report.DimPolicy) && !cilium {
		d.Status, d.Message = report.StatusSkipped, "the seed runs it on Cilium only; this folder is "+dataplane
		return
	}
	var used, left, total int
	for _, sr := range d.scenarios {
		if sr.result != nil {
			d.Results = append(d.Results, *sr.result)
		}
		used += len(sr.used)
		left += len(sr.left)
		total += len(sr.used) + len(sr.left)
	}
	switch {
	case total == 0:
		d.Status, d.Message = report.StatusError, "the seed's folder has no file of it"
	case len(d.Results) == 0:
		d.Status, d.Message = report.StatusError, fmt.Sprintf("none of its %d files is a sample (see import.md)", total)
	case left > 0:
		d.Status, d.Message = report.StatusError, fmt.Sprintf("imported from the seed: %d of %d files are samples; %d missing, unparseable or rejected (see import.md)", used, total, left)
	default:
		d.Status, d.Message = report.StatusPassed, fmt.Sprintf("imported from the seed: %d files", used)
	}
}
