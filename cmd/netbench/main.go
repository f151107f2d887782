// Command netbench runs the embedded lab and, later, parses and compares
// benchmark results. See internal/cli.
package main

import (
	"os"

	"kube-netbench/internal/cli"
)

func main() {
	os.Exit(cli.Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
