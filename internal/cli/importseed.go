package cli

import (
	"flag"
	"fmt"
	"io"
	"time"

	"kube-netbench/internal/config"
	"kube-netbench/internal/seedimport"
)

// Exit codes of import-seed.
const (
	importOK       = 0 // the run is written; every file the layout has is a sample
	importPartial  = 1 // the run is written; some files are missing, unparseable or rejected
	importBadInput = 2 // nothing written: bad arguments, not a seed folder, the run exists
)

// runImportSeed turns a seed results folder into a run: import-seed [flags] DIR.
func runImportSeed(args []string, stdout, stderr io.Writer, now func() time.Time) int {
	fs := flag.NewFlagSet("import-seed", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	root := fs.String("o", config.DefaultResultsDir, "the results root to write the run <root>/<id> into")
	id := fs.String("id", "", "the run ID (default seed-<dataplane>-<the seed's test_date>)")
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "netbench import-seed: "+format+"\n", a...)
		return importBadInput
	}
	if err := fs.Parse(args); err != nil {
		return fail("%v\n%s", err, usage)
	}
	if fs.NArg() != 1 {
		return fail("want one DIR, the seed's results folder (flags first), got %d arguments %q\n%s", fs.NArg(), fs.Args(), usage)
	}
	im, err := seedimport.Read(fs.Arg(0))
	if err != nil {
		return fail("%v", err)
	}
	runID := *id
	if runID == "" {
		runID = im.DefaultID()
	}
	dir, err := im.Write(*root, runID, now().UTC())
	if err != nil {
		return fail("-o %s --id %s: %v", *root, runID, err)
	}
	im.PrintSummary(stdout, dir)
	if !im.Complete() {
		return importPartial
	}
	return importOK
}
