package cli

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"kube-netbench/internal/config"
	"kube-netbench/internal/gate"
	"kube-netbench/profiles"
)

// Names of the files compare writes into its output directory.
const (
	compareMarkdown = "compare.md"
	compareJUnit    = "compare.junit.xml"
)

// runCompare is the regression gate: compare [flags] BASELINE CANDIDATE.
// It exits 0 without a regression, 1 with one and 2 when the runs cannot be
// compared or the input is bad.
func runCompare(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	profile := fs.String("profile", "", "the profile whose regression section holds the tolerances (default: "+profiles.DefaultName+", built in)")
	allow := fs.Bool("allow-env-change", false, "compare runs whose fingerprints differ in what must not differ (kernel, nodes, load tools)")
	outDir := fs.String("o", ".", "the directory to write "+compareMarkdown+" and "+compareJUnit+" into")
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "netbench compare: "+format+"\n", a...)
		return gate.ExitIncomparable
	}
	if err := fs.Parse(args); err != nil {
		return fail("%v\n%s", err, usage)
	}
	if fs.NArg() != 2 {
		return fail("want BASELINE and CANDIDATE (flags first), got %d arguments %q\n%s", fs.NArg(), fs.Args(), usage)
	}
	p, profileName, err := compareProfile(*profile)
	if err != nil {
		return fail("--profile %s: %v", profileName, err)
	}
	var sides [2]gate.Input
	for i, name := range []string{"BASELINE", "CANDIDATE"} {
		arg := fs.Arg(i)
		if sides[i], err = gate.Load(arg); err != nil {
			return fail("%s %s: %v; give a run's results directory (holding run.json), a %s file (report.WriteJSON) or a directory of them", name, arg, err, "<dimension>.json")
		}
	}
	r, err := gate.Compare(sides[0], sides[1], gate.Options{Tolerances: p.Regression, AllowEnvChange: *allow, Profile: profileName})
	if err != nil {
		return fail("%v", err)
	}
	var md, junit bytes.Buffer
	if err := gate.WriteMarkdown(&md, r); err != nil {
		return fail("%v", err)
	}
	if err := gate.WriteJUnit(&junit, r); err != nil {
		return fail("%v", err)
	}
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		return fail("-o %s: %v", *outDir, err)
	}
	for name, data := range map[string][]byte{compareMarkdown: md.Bytes(), compareJUnit: junit.Bytes()} {
		if err := os.WriteFile(filepath.Join(*outDir, name), data, 0o644); err != nil {
			return fail("-o %s: %v", *outDir, err)
		}
	}
	printSummary(stdout, r, *outDir)
	return r.ExitCode()
}

// printSummary prints the verdict, what decided it and where the outputs
// are.
func printSummary(w io.Writer, r gate.Result, outDir string) {
	fmt.Fprintf(w, "netbench compare: %s (exit %d)\n%s\n", r.Headline(), r.ExitCode(), r.Counts())
	for _, why := range r.Incomparable {
		fmt.Fprintf(w, "INCOMPARABLE %s\n", why)
	}
	for _, m := range r.With(gate.Regression) {
		fmt.Fprintf(w, "REGRESSION %s: %+.1f %% [%+.1f, %+.1f] beyond the tolerance %s\n",
			m.Name(), m.Change.Center, m.Change.Lo, m.Change.Hi, m.Tolerance)
	}
	for _, in := range []gate.Input{r.Baseline, r.Candidate} {
		for _, s := range in.Skipped {
			fmt.Fprintf(w, "not compared: %s: %s\n", s.Path, s.Reason)
		}
	}
	fmt.Fprintf(w, "wrote %s and %s\n", filepath.Join(outDir, compareMarkdown), filepath.Join(outDir, compareJUnit))
}

// compareProfile is the profile at path, or without one the default built
// into netbench (so that it gates alike from any directory), and the name
// compare.md gives it.
func compareProfile(path string) (config.Profile, string, error) {
	if path == "" {
		p, err := config.ParseProfile(profiles.Default)
		return p, profiles.DefaultName, err
	}
	p, err := config.LoadProfile(path)
	return p, path, err
}
