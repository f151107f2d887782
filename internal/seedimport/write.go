package seedimport

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"kube-netbench/internal/report"
	"kube-netbench/internal/results"
)

// ReportFile is the import's report in the run's directory: every file with
// its status and reason, the results and the findings. The manifest names
// it in the fingerprint's "import-report" (it belongs to the run, not to
// one dimension).
const ReportFile = "import.md"

// Fingerprint is what the seed recorded of its run, mapped onto the suite's
// fingerprint, with the import's provenance in Extra.
func (im *Import) Fingerprint() report.Fingerprint {
	fp := report.Fingerprint{Dataplane: im.Dataplane, KubeProxyMode: im.KubeProxyMode,
		KubernetesVersion: im.Context.Values["k8s_version"], Kernel: im.Context.Values["kernel_version"],
		Tools: im.Tools, Config: im.Config,
		Extra: map[string]string{"imported-from": im.Dir, "import-tool": "netbench import-seed", "import-report": ReportFile}}
	for _, k := range im.Context.Keys {
		key := "seed-" + strings.ReplaceAll(strings.ToLower(k), "_", "-")
		if v := strings.TrimSpace(im.Context.Values[k]); v != "" && configKey(key) && !strings.ContainsAny(v, "\r\n") {
			fp.Extra[key] = v
		}
	}
	return fp
}

// configKey matches a benchmark-format configuration key (report's rule).
var configKey = regexp.MustCompile(`^[a-z][a-z0-9._-]*$`).MatchString

// DefaultID is the run ID of an import without one: the dataplane and the
// seed's test_date.
func (im *Import) DefaultID() string {
	return "seed-" + im.Key + "-" + im.Started.UTC().Format("20060102T150405Z")
}

// Write writes the import as the run root/id through internal/results: a
// dimension with results is Put with its status, one without is Recorded,
// then import.md; finished is the manifest's end time (the import's). Each
// run's Started and Finished are the seed's test_date, the only time it
// records. An existing root/id is refused, whatever it holds.
func (im *Import) Write(root, id string, finished time.Time) (string, error) {
	p := filepath.Join(root, id)
	if _, err := os.Stat(p); err == nil {
		return "", fmt.Errorf("%s already exists: give another --id or -o, or move it away", p)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	d, err := results.Create(root, id, im.Started)
	if err != nil {
		return "", err
	}
	if err := im.write(d, id, finished); err != nil {
		// The directory did not exist before: no half-written run stays.
		if rerr := os.RemoveAll(d.Path); rerr != nil {
			return "", fmt.Errorf("%w (and removing %s: %v)", err, d.Path, rerr)
		}
		return "", err
	}
	return d.Path, nil
}

func (im *Import) write(d *results.Dir, id string, finished time.Time) error {
	var err error
	fp := im.Fingerprint()
	for _, dim := range im.Dims {
		if len(dim.Results) == 0 {
			err = d.Record(dim.Name, dim.Status, dim.Message)
		} else {
			fp.Tools = dim.Tools
			run := report.Run{ID: id, Started: im.Started, Finished: im.Started, Fingerprint: fp, Results: dim.Results}
			err = d.Put(dim.Name, run, dim.Status, dim.Message)
		}
		if err != nil {
			return err
		}
	}
	var md bytes.Buffer
	if err := im.WriteMarkdown(&md, id); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(d.Path, ReportFile), md.Bytes(), 0o644); err != nil {
		return err
	}
	return d.Finish(finished)
}

// Counts returns how many files have each status.
func (im *Import) Counts() map[string]int {
	c := map[string]int{}
	for _, f := range im.Files {
		c[f.Status]++
	}
	return c
}

// Complete reports whether every file the seed's layout has is a sample:
// none missing, unparseable or rejected.
func (im *Import) Complete() bool {
	c := im.Counts()
	return c[StatusMissing]+c[StatusUnparseable]+c[StatusRejected] == 0
}

var statuses = []string{StatusImported, StatusRejected, StatusUnparseable, StatusMissing, StatusNotImported, StatusRead}

func (im *Import) countLine() string {
	c := im.Counts()
	var parts []string
	for _, s := range statuses {
		if c[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[s], s))
		}
	}
	return strings.Join(parts, ", ")
}

// WriteMarkdown writes import.md for the run id.
func (im *Import) WriteMarkdown(w io.Writer, id string) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Seed results imported as run %s\n\n", id)
	fmt.Fprintf(&b, "- Source: `%s`, cluster_type `%s` → dataplane `%s`, test_date %s, ROUNDS %d (the highest round of any file)\n",
		im.Dir, im.Context.Values["cluster_type"], im.Dataplane, im.Started.UTC().Format(time.RFC3339), im.Rounds)
	fmt.Fprintf(&b, "- Files: %s\n", im.countLine())
	b.WriteString("- Every raw file was re-parsed with this suite's parsers and summarized its way (median and 95 % interval; percentiles per round, never averaged); a fortio run with failed calls is not a sample.\n\n")

	b.WriteString("## Dimensions\n\n| dimension | status | message |\n|---|---|---|\n")
	for _, d := range im.Dims {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", d.Name, d.Status, cell(d.Message))
	}

	b.WriteString("\n## Results\n\n| benchmark | unit | median | interval | n |\n|---|---|---|---|---|\n")
	for _, d := range im.Dims {
		for _, r := range d.Results {
			for _, m := range r.Metrics {
				iv := "none (n < 6)"
				if m.Summary.Bounded() {
					iv = fmt.Sprintf("[%s, %s]", format(m.Unit, m.Summary.Lo), format(m.Unit, m.Summary.Hi))
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %d |\n", r.BenchmarkName(), m.Unit, format(m.Unit, m.Summary.Center), iv, m.Summary.N)
			}
		}
	}

	b.WriteString("\n## Findings\n\n")
	for _, f := range im.Findings {
		tag := ""
		if len(f.Flaws) > 0 {
			tag = "**" + strings.Join(f.Flaws, ", ") + "** "
		}
		fmt.Fprintf(&b, "- %s`%s`: %s\n", tag, f.Subject, f.Text)
	}

	b.WriteString("\n## Files\n\n| file | dimension | status | reason |\n|---|---|---|---|\n")
	for _, f := range im.Files {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", f.Path, f.Dimension, f.Status, cell(f.Reason))
	}
	_, err := w.Write(b.Bytes())
	return err
}

// cell makes text fit a Markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// PrintSummary prints what the import did: the file counts, every file that
// is not a sample, each dimension's status and where the run is.
func (im *Import) PrintSummary(w io.Writer, runDir string) {
	fmt.Fprintf(w, "netbench import-seed: %s (%s, ROUNDS %d) → %s\n", im.Dir, im.Dataplane, im.Rounds, runDir)
	fmt.Fprintf(w, "files: %s\n", im.countLine())
	for _, f := range im.Files {
		switch f.Status {
		case StatusRejected, StatusUnparseable, StatusMissing:
			fmt.Fprintf(w, "%s %s: %s\n", strings.ToUpper(f.Status), f.Path, f.Reason)
		}
	}
	for _, d := range im.Dims {
		fmt.Fprintf(w, "%s: %s, %d results; %s\n", d.Name, d.Status, len(d.Results), d.Message)
	}
	fmt.Fprintf(w, "%d findings; wrote %s\n", len(im.Findings), filepath.Join(runDir, ReportFile))
}
