// Command netbench runs the embedded lab, parses raw tool outputs, compares
// two runs (the regression gate) and imports the seed script's results. See
// internal/cli.
package main

import (
	"os"

	"kube-netbench/internal/cli"
)

func main() {
	os.Exit(cli.Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
