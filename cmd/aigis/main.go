// Command aigis is an AI supply-chain security scanner. See README.md.
package main

import (
	"os"

	"github.com/aigis-sec/aigis/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
