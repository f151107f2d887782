// Package cli is the netbench command line, a function of its arguments and
// output streams so that it can be tested without a process.
package cli

import (
	"fmt"
	"io"
	"time"
)

const usage = `usage: netbench <command>

commands:
  lab up       start the embedded lab (LAB_DATAPLANE, LAB_NODES, LAB_DIR, ...) and leave it running
  lab down     remove the lab and everything it made (also a half-made or interrupted one)
  lab status   list what of a lab is present on this machine
  kind config DATAPLANE
               print the kind cluster configuration the suite creates for DATAPLANE
               (iptables, nftables, cilium-overlay or cilium-native)
  kind cilium-values DATAPLANE CLUSTER
               print the Cilium chart values the suite installs for a cilium-* DATAPLANE on
               the kind cluster named CLUSTER (its API server: CLUSTER-control-plane:6443)
  parse TOOL FILE
               print one raw tool output as normalized JSON; FILE - reads standard input.
               TOOL is fortio (fortio load -json or its REST API's run),
               iperf3 (iperf3 -J: TCP or UDP, any streams, either direction) or
               netperf (-o or -k with any selectors that include THROUGHPUT, P50_LATENCY,
               P90_LATENCY and P99_LATENCY). An error, interrupted, truncated or otherwise
               broken output exits 1, naming FILE and the problem.
  compare [--profile P] [--allow-env-change] [-o DIR] BASELINE CANDIDATE
               the regression gate: compares every metric of two runs (each a results JSON file
               or a directory of them) against the tolerances of profile P's regression section
               (default profiles/default.yaml, built in); writes DIR/compare.md and DIR/compare.junit.xml
               (DIR defaults to .). Exits 0 without a regression, 1 with one, 2 when the runs are
               incomparable (no shared metric; fingerprints that differ in kernel, nodes or load
               tools, unless --allow-env-change) or the input is bad.
  report [-o DIR] RUN_DIR...
               renders one or more runs (each a results directory <results>/<run ID>/ with its
               run.json, typically one per dataplane) as DIR/report.md (tables with 95 % intervals,
               ServiceScale curves and crossovers, the study's "At a glance" table, fingerprints,
               findings) and PNG plots; DIR defaults to . Exits 0 when written, 2 on bad input
               (nothing is written then).
  import-seed [-o RESULTS_ROOT] [--id RUN_ID] DIR
               turn the seed script's results folder DIR (context.yaml, throughput/, rps/, ...) into
               the run RESULTS_ROOT/RUN_ID (default results/seed-<dataplane>-<its test_date>): its raw
               iperf3, fortio and netperf files re-parsed and summarized this suite's way, every file
               reported with its status, findings against its benchmark-summary.json in import.md.
               Exits 0 when every file is a sample, 1 when some are missing, unparseable or rejected
               (the run is still written), 2 when nothing is written (bad DIR, existing run).
`

// Run executes the command line and returns the process exit code. It
// reads standard input only as the FILE - of parse.
func Run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "parse":
			return runParse(args[1:], stdin, stdout, stderr)
		case "compare":
			return runCompare(args[1:], stdout, stderr)
		case "kind":
			return runKind(args[1:], stdout, stderr)
		case "report":
			return runReport(args[1:], stdout, stderr)
		case "import-seed":
			return runImportSeed(args[1:], stdout, stderr, time.Now)
		case "lab":
			if len(args) >= 2 {
				return runLab(args[1], stdout, stderr)
			}
		}
	}
	fmt.Fprint(stderr, usage)
	return 2
}
