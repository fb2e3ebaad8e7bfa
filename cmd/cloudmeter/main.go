// Command cloudmeter is the metering and billing hub: it records a cloud's deployment
// operations, rates them to the second against price books and serves usage and cost.
// Run `cloudmeter --help` for the commands, `cloudmeter version` (or --version) for the
// version, the commit and the Go version it was built with. A release build names its
// version at link time:
//
//	go build -ldflags "-X github.com/cloudmeter/cloudmeter/cli.Version=v1.2.3" ./cmd/cloudmeter
//
// Exit status: 0 on success, 1 when a command fails, 2 on a usage error (a bare
// `cloudmeter` too: it names the commands and points to --help).
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
