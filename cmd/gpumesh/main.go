// Command gpumesh is the gpumesh node and its command-line client in one
// binary. With no arguments it runs a node, as a double-click does.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/gpumesh/gpumesh/cmd/gpumesh/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
