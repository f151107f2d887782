package gate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"kube-netbench/internal/report"
	"kube-netbench/internal/results"
)

// Input is one side of a comparison: the runs read from one argument.
type Input struct {
	// Arg is the argument as given: a results file or a directory of them.
	Arg string
	// Runs are the report.Run files read, in path order.
	Runs []Source
	// Skipped are the JSON files that are not report.Run summaries, each
	// with the reason, so that nothing is left out silently.
	Skipped []Skip
}

// Source is one report.Run and the file it was read from.
type Source struct {
	Path string
	Run  report.Run
}

// Skip is a file that was not compared, and why.
type Skip struct {
	Path, Reason string
}

// Load reads arg: a run's results directory (run.json and the files it
// lists), a report.Run JSON file (report.WriteJSON), or a directory whose
// *.json files (not its subdirectories) are read. A file whose schema
// is not a report's is skipped with the reason, as is ServiceScale's summary,
// which internal/scaleresult writes in the seed's shape; a report of another
// schema version or one that does not validate is an error, as is an
// argument that yields no run at all.
func Load(arg string) (Input, error) {
	in := Input{Arg: arg}
	info, err := os.Stat(arg)
	if err != nil {
		return in, err
	}
	if info.IsDir() && results.IsRun(arg) {
		return loadRunDir(arg)
	}
	paths := []string{arg}
	if info.IsDir() {
		paths, err = filepath.Glob(filepath.Join(arg, "*.json"))
		if err != nil {
			return in, err
		}
		slices.Sort(paths)
	}
	for _, p := range paths {
		run, reason, err := readRun(p)
		switch {
		case err != nil:
			return in, fmt.Errorf("%s: %w", p, err)
		case reason != "":
			in.Skipped = append(in.Skipped, Skip{Path: p, Reason: reason})
		default:
			in.Runs = append(in.Runs, Source{Path: p, Run: run})
		}
	}
	if len(in.Runs) == 0 {
		var why []string
		for _, s := range in.Skipped {
			why = append(why, s.Path+": "+s.Reason)
		}
		if len(why) == 0 {
			why = append(why, "no *.json file")
		}
		return in, fmt.Errorf("no %s run found (%s)", report.Schema, strings.Join(why, "; "))
	}
	return in, nil
}

// loadRunDir reads a run's results directory (internal/results): every
// dimension's results; one that wrote none is listed as skipped with its
// status and reason.
func loadRunDir(dir string) (Input, error) {
	in := Input{Arg: dir}
	l, err := results.Read(dir)
	if err != nil {
		return in, err
	}
	for _, d := range l.Runs {
		in.Runs = append(in.Runs, Source{Path: filepath.Join(dir, d.Dimension.RunFile()), Run: d.Run})
	}
	for _, d := range l.Manifest.Dimensions {
		if d.RunFile() == "" {
			in.Skipped = append(in.Skipped, Skip{Path: filepath.Join(dir, results.ManifestFile) + "#" + d.Name,
				Reason: fmt.Sprintf("dimension %s %s without results: %s", d.Name, d.Status, d.Message)})
		}
	}
	if len(in.Runs) == 0 {
		return in, fmt.Errorf("run %s holds no dimension's results", l.Manifest.ID)
	}
	return in, nil
}

// readRun reads one file: its run, or why it is not a report.Run.
func readRun(path string) (report.Run, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return report.Run{}, "", err
	}
	var head struct {
		Schema       *string         `json:"schema"`
		ServiceScale json.RawMessage `json:"service_scale"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return report.Run{}, "", fmt.Errorf("not JSON: %w", err)
	}
	switch {
	case head.ServiceScale != nil:
		return report.Run{}, "a ServiceScale summary (the seed's service_scale shape), not a " + report.Schema +
			" run: not compared; ServiceScale has its own baseline within each run", nil
	case head.Schema == nil:
		return report.Run{}, "no \"schema\" field: not a " + report.Schema + " run", nil
	case *head.Schema != report.Schema && !strings.HasPrefix(*head.Schema, "kube-netbench/report/"):
		return report.Run{}, fmt.Sprintf("schema %q: not a %s run", *head.Schema, report.Schema), nil
	}
	run, err := report.ReadJSON(bytes.NewReader(data))
	if err != nil {
		return report.Run{}, "", err
	}
	return run, "", nil
}
