package seedimport

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"kube-netbench/internal/report"
)

// The folder's files that are not one scenario's runs: the ServiceScale
// steps and settings, the reasons files are not imported, the tools.

// scaleSteps returns the ServiceScale steps from scale_steps.txt, or from
// the step files when it is missing or unreadable, and its file entry.
func (im *Import) scaleSteps(dir string, present map[string]bool) ([]int, []File) {
	const name = "service-scale/scale_steps.txt"
	var files []File
	if present[name] {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		var steps []int
		for _, f := range strings.FieldsFunc(string(b), func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' }) {
			n, perr := strconv.Atoi(f)
			if perr != nil || n <= 0 {
				err = fmt.Errorf("%q is not a Service count", f)
				break
			}
			steps = append(steps, n)
		}
		if err == nil && len(steps) > 0 {
			strs := make([]string, len(steps))
			for i, n := range steps {
				strs[i] = strconv.Itoa(n)
			}
			im.Config["SVC_SCALE_STEPS"] = strings.Join(strs, ",")
			return steps, []File{{Path: name, Dimension: report.DimServiceScale, Status: StatusRead, Reason: "the steps"}}
		}
		if err == nil {
			err = errors.New("no step")
		}
		files = append(files, File{Path: name, Dimension: report.DimServiceScale, Status: StatusUnparseable, Reason: err.Error() + "; steps taken from the step files"})
	} else {
		files = append(files, File{Path: name, Dimension: report.DimServiceScale, Status: StatusMissing, Reason: "steps taken from the step files"})
	}
	step := regexp.MustCompile(`^service-scale/(?:ka|short)_at_([0-9]+)svc_r[0-9]+\.json$`)
	seen := map[int]bool{}
	var steps []int
	for p := range present {
		if m := step.FindStringSubmatch(p); m != nil {
			if n, err := strconv.Atoi(m[1]); err == nil && !seen[n] {
				seen[n] = true
				steps = append(steps, n)
			}
		}
	}
	slices.Sort(steps)
	return steps, files
}

// endpoints reads SVC_ENDPOINTS from service-scale/endpoints_per_svc.txt.
func (im *Import) endpoints(dir string, present map[string]bool) []File {
	const name = "service-scale/endpoints_per_svc.txt"
	if !present[name] {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
	v := strings.TrimSpace(string(b))
	if n, perr := strconv.Atoi(v); err != nil || perr != nil || n <= 0 {
		return []File{{Path: name, Dimension: report.DimServiceScale, Status: StatusUnparseable, Reason: fmt.Sprintf("%q is not a positive count of endpoints", v)}}
	}
	im.Config["SVC_ENDPOINTS"] = v
	return []File{{Path: name, Dimension: report.DimServiceScale, Status: StatusRead, Reason: "SVC_ENDPOINTS"}}
}

// notImported says why a file outside the imported scenarios is left out.
func notImported(dir, p string, cilium bool) string {
	top := strings.Split(p, "/")[0]
	base := path.Base(p)
	switch {
	case strings.HasSuffix(p, ".err"):
		return "stderr of a failed fortio attempt"
	case (top == "hubble" || top == "networkpolicy") && !cilium:
		return "the seed runs Hubble and NetworkPolicy on Cilium only, and context.yaml says this is not Cilium"
	case top == "resources":
		return "kubectl top / bpftool / count outputs from one agent (W-OPS-2); the suite's resources dimension reads every agent's cgroup under interleaved idle and load rounds, which these do not compare with"
	case top == "service-scale" && (strings.HasPrefix(base, "rr_at_") || strings.HasPrefix(base, "crr_at_")):
		return "netperf to the netperf-server Pod IP at this step: the suite's ServiceScale measures req/s through a Service, and a Pod-IP probe takes no Service lookup on Cilium (W-STAT-10)"
	case top == "service-scale" && strings.HasSuffix(base, ".txt"):
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		v := strings.TrimSpace(string(b))
		if err != nil || len(v) > 40 || strings.ContainsAny(v, "\n") {
			v = "?"
		}
		return fmt.Sprintf("a count (%s) read once from one pod (W-OPS-2), not a metric of the suite", v)
	}
	return "not part of the seed's layout"
}

// tools records each dimension's load tools, with the versions their files
// report, the run's (all of them, once each), and iperf3's duration when
// every file agrees on it.
func (im *Import) tools() {
	durations := map[time.Duration]bool{}
	for i := range im.Dims {
		d := &im.Dims[i]
		var samples []sample
		for _, sr := range d.scenarios {
			samples = append(samples, sr.samples...)
			for _, smp := range sr.samples {
				if smp.tool == "iperf3" {
					durations[smp.duration] = true
				}
			}
		}
		d.Tools = toolsOf(samples)
		im.Tools = report.MergeTools(im.Tools, d.Tools)
	}
	if len(durations) == 1 {
		for d := range durations {
			im.Config["IPERF_DURATION"] = d.String()
		}
	}
}

// toolsOf lists the samples' tools in order of appearance, each with every
// version reported (comma-separated).
func toolsOf(samples []sample) []report.Tool {
	var out []report.Tool
	for _, smp := range samples {
		i := slices.IndexFunc(out, func(t report.Tool) bool { return t.Name == smp.tool })
		if i < 0 {
			out = append(out, report.Tool{Name: smp.tool})
			i = len(out) - 1
		}
		if v := smp.version; v != "" && !slices.Contains(strings.Split(out[i].Version, ","), v) {
			out[i].Version = strings.TrimPrefix(out[i].Version+","+v, ",")
		}
	}
	return out
}
