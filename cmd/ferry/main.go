// Command ferry is the whole of Ferry in one binary.
package main

import (
	"os"

	"github.com/ferryhq/ferry/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
