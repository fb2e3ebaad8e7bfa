// Command cloudmeter is the metering and billing hub: it records a cloud's deployment
// operations, rates them to the second against price books and serves usage and cost.
// Run `cloudmeter --help` for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/cloudmeter/cloudmeter/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr))
}
