package cli

import (
	"flag"
	"fmt"
	"io"

	"kube-netbench/internal/results"
	"kube-netbench/internal/runreport"
)

// runReport renders report.md and the plots of one or more runs:
// report [-o DIR] RUN_DIR... It exits 0 when written, 2 on bad input, which
// is found before anything is written.
func runReport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	outDir := fs.String("o", ".", "the directory to write "+runreport.MarkdownFile+" and the plots into")
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "netbench report: "+format+"\n", a...)
		return 2
	}
	if err := fs.Parse(args); err != nil {
		return fail("%v\n%s", err, usage)
	}
	if fs.NArg() == 0 {
		return fail("want at least one RUN_DIR (flags first)\n%s", usage)
	}
	var runs []results.Loaded
	for _, dir := range fs.Args() {
		l, err := results.Read(dir)
		if err != nil {
			return fail("RUN_DIR %s: %v; give a run's directory, <results>/<run ID>/ with its %s", dir, err, results.ManifestFile)
		}
		runs = append(runs, l)
	}
	r, err := runreport.Build(runs)
	if err != nil {
		return fail("%v", err)
	}
	paths, err := runreport.Write(*outDir, r)
	if err != nil {
		return fail("-o %s: %v", *outDir, err)
	}
	for _, f := range r.Findings {
		fmt.Fprintf(stdout, "%s: %s\n", f.Kind, f.Text)
	}
	for _, p := range paths {
		fmt.Fprintf(stdout, "wrote %s\n", p)
	}
	return 0
}
