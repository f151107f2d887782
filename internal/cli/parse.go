package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"kube-netbench/internal/tools/fortio"
	"kube-netbench/internal/tools/iperf3"
	"kube-netbench/internal/tools/netperf"
)

// parsers are the tools `netbench parse` knows, each with the parser whose
// Result is its normalized JSON.
var parsers = map[string]func(io.Reader) (any, error){
	"fortio":  anyResult(fortio.Parse),
	"iperf3":  anyResult(iperf3.Parse),
	"netperf": anyResult(netperf.Parse),
}

func anyResult[T any](parse func(io.Reader) (T, error)) func(io.Reader) (any, error) {
	return func(r io.Reader) (any, error) { return parse(r) }
}

// runParse prints the normalized JSON of one raw tool output: parse TOOL FILE.
func runParse(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) != 2 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	tool, file := args[0], args[1]
	parse, ok := parsers[tool]
	if !ok {
		fmt.Fprintf(stderr, "netbench parse: unknown tool %q\n%s", tool, usage)
		return 2
	}
	in, name := stdin, "standard input"
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			fmt.Fprintf(stderr, "netbench parse %s: %v\n", tool, err)
			return 1
		}
		defer f.Close()
		in, name = f, file
	}
	res, err := parse(in)
	if err != nil {
		fmt.Fprintf(stderr, "netbench parse %s %s: %v\n", tool, name, err)
		return 1
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		fmt.Fprintf(stderr, "netbench parse %s %s: %v\n", tool, name, err)
		return 1
	}
	if _, err := stdout.Write(append(b, '\n')); err != nil {
		fmt.Fprintf(stderr, "netbench parse: write: %v\n", err)
		return 1
	}
	return 0
}
