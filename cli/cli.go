// Package cli is cloudmeter's command line: it parses arguments with kong and runs the
// subcommands (serve, demo, keys, users, credit, prices, report, bench, migrate, rerate,
// version, reservations). Commands that work on the database open it directly, so no server is needed.
// A bare `cloudmeter` prints the main commands and points to --help, and exits with
// status 2 like any other usage error.
package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/httpapi"
	"github.com/cloudmeter/cloudmeter/internal/storeopen"
	"github.com/cloudmeter/cloudmeter/server"
	"github.com/cloudmeter/cloudmeter/service"
	"github.com/cloudmeter/cloudmeter/sqlite"
	"github.com/cloudmeter/cloudmeter/sqlstore"
)

// Globals are given to every command.
type Globals struct {
	Ctx    context.Context `kong:"-"`
	Stdout io.Writer       `kong:"-"`
	Stderr io.Writer       `kong:"-"`
}

// Root is the command tree.
type Root struct {
	VersionFlag kong.VersionFlag `name:"version" help:"Print the version, the commit and the Go version, then exit."`

	Serve         ServeCmd         `cmd:"" help:"Serve the native REST API, the MetalSoft-compatible JSON-RPC API, the Hyperstack-compatible billing API, the Vercel-Marketplace-compatible partner API, the web dashboard (/ui/), /healthz, /readyz and /metrics."`
	Demo          DemoCmd          `cmd:"" help:"Create a fresh data directory with a demo cloud (the seed example plus a few hundred generated resources) and print its utilization report."`
	Keys          KeysCmd          `cmd:"" help:"Create, list and revoke API keys, directly on the database."`
	Users         UsersCmd         `cmd:"" help:"Put users in organizations and show them, directly on the database."`
	Credit        CreditCmd        `cmd:"" help:"Top up organizations' prepaid credit, set its threshold and show it, directly on the database."`
	Installations InstallationsCmd `cmd:"" help:"Install marketplace partners for users, list, show and uninstall them, and move their invoices along the state machine, directly on the database."`
	Prices        PricesCmd        `cmd:"" help:"Import and show the price book, directly on the database."`
	Reservations  ReservationsCmd  `cmd:"" help:"Reserve instances of a server type in a datacenter, list and show reservations, directly on the database."`
	Report        ReportCmd        `cmd:"" help:"Print a user's utilization report as a table, JSON or CSV."`
	Exports       ExportsCmd       `cmd:"" help:"Add, list and remove export targets (billing systems that receive usage in the marketplace format) and show their deliveries' status."`
	Push          PushCmd          `cmd:"" help:"Send usage and interim billing to the export targets: one round with --once, else on their schedules."`
	Pull          PullCmd          `cmd:"" help:"Import utilization from MetalSoft- or Hyperstack-compatible endpoints as source-tagged records."`
	Bench         BenchCmd         `cmd:"" help:"Measure ingest through the HTTP API, the raw SQLite insert rate and the 10,000-resource report (on SQLite, and beside it on PostgreSQL with --postgres-url); with --traffic, traffic ingest and the network report of 1,000 waypoints."`
	Migrate       MigrateCmd       `cmd:"" help:"Apply pending database migrations (serve applies them too)."`
	Rerate        RerateCmd        `cmd:"" help:"Rate every product again from the ledger (after an upgrade of the rating rules)."`
	Version       VersionCmd       `cmd:"" help:"Print the version, the commit and the Go version this binary was built with."`
}

// Main runs the command line and returns the exit code: 0 on success, 1 when a command
// fails, 2 on a usage error (a bare `cloudmeter` included).
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var root Root
	exit := -1
	parser, err := kong.New(&root,
		kong.Name("cloudmeter"),
		kong.Description("cloudmeter: metering and billing hub for infrastructure clouds. It records every deployment operation, rates it to the second against price books, exactly, and serves usage and cost."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { exit = code; panic(exitPanic{}) }),
		kong.UsageOnError(),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.Vars{"version": ReadBuildInfo().String()},
	)
	if err != nil {
		fmt.Fprintln(stderr, "cloudmeter:", err)
		return 2
	}
	if len(args) == 0 {
		// Instead of kong's `expected one of "serve", "demo", ...`: a usage error all the same.
		fmt.Fprintf(stderr, "cloudmeter: a command is needed: %s. Run `cloudmeter --help` for what each does.\n",
			strings.Join(commandNames(parser), ", "))
		return 2
	}
	code := func() (code int) {
		defer func() {
			if v := recover(); v != nil {
				if _, ok := v.(exitPanic); ok {
					code = exit
					return
				}
				panic(v)
			}
		}()
		kctx, err := parser.Parse(args)
		if err != nil {
			parser.Errorf("%s", err)
			return 2
		}
		if err := kctx.Run(&Globals{Ctx: ctx, Stdout: stdout, Stderr: stderr}); err != nil {
			fmt.Fprintln(stderr, "cloudmeter:", cloudmeter.MessageOf(err))
			if cloudmeter.KindOf(err) == cloudmeter.KindInternal {
				fmt.Fprintln(stderr, "  cause:", err)
			}
			return 1
		}
		return 0
	}()
	return code
}

type exitPanic struct{}

// commandNames lists the top-level commands, in the order of Root.
func commandNames(parser *kong.Kong) []string {
	var names []string
	for _, n := range parser.Model.Children {
		if n.Type == kong.CommandNode && !n.Hidden {
			names = append(names, n.Name)
		}
	}
	return names
}

// StoreFlags choose the database.
type StoreFlags struct {
	DataDir     string `name:"data-dir" env:"CLOUDMETER_DATA_DIR" default:"./cloudmeter-data" help:"Data directory of the embedded SQLite database (created if missing by the commands that write; the commands that only read refuse one that does not exist)."`
	DatabaseURL string `name:"database-url" env:"CLOUDMETER_DATABASE_URL" help:"PostgreSQL URL (postgres://user:pass@host:5432/db?sslmode=disable); when set, used instead of SQLite in the data directory."`
}

// openExisting opens the database for a command that only reads: on SQLite, a data
// directory that does not exist (a typo such as ./dta) or holds no database is refused,
// never created, so that the command cannot answer about an empty database.
func (f StoreFlags) openExisting(ctx context.Context) (*sqlstore.Store, *service.Service, error) {
	if f.DatabaseURL == "" {
		if err := checkDataDir(f.DataDir); err != nil {
			return nil, nil, err
		}
	}
	return f.open(ctx)
}

func checkDataDir(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, sqlite.FileName)); err == nil {
		return nil
	}
	if _, err := os.Stat(dir); err != nil {
		return cloudmeter.Errorf(cloudmeter.KindNotFound, "data directory %s does not exist: check --data-dir (or CLOUDMETER_DATA_DIR); a command that only reads never creates one", dir)
	}
	return cloudmeter.Errorf(cloudmeter.KindNotFound, "data directory %s holds no cloudmeter database (%s): check --data-dir (or CLOUDMETER_DATA_DIR); a command that only reads never creates one",
		dir, sqlite.FileName)
}

func (f StoreFlags) open(ctx context.Context) (*sqlstore.Store, *service.Service, error) {
	st, err := storeopen.Open(ctx, f.DataDir, f.DatabaseURL)
	if err != nil {
		return nil, nil, err
	}
	return st, service.New(st, service.Options{}), nil
}

// ServeCmd serves the APIs.
type ServeCmd struct {
	StoreFlags
	SecretFlags
	Listen              string        `env:"CLOUDMETER_LISTEN" default:"127.0.0.1:8080" help:"Address to listen on."`
	MaxBodyBytes        int64         `env:"CLOUDMETER_MAX_BODY_BYTES" default:"33554432" help:"Largest request body accepted, in bytes."`
	MaxBatchEvents      int           `env:"CLOUDMETER_MAX_BATCH_EVENTS" default:"10000" help:"Most events accepted in one ingest request."`
	MaxReportYears      int           `env:"CLOUDMETER_MAX_REPORT_YEARS" default:"5" help:"Longest report window, in years."`
	MaxReportRecords    int           `env:"CLOUDMETER_MAX_REPORT_RECORDS" default:"500000" help:"Most usage records in one report; a larger report is refused, to be asked for in smaller windows."`
	MaxRPCBatch         int           `name:"max-rpc-batch" env:"CLOUDMETER_MAX_RPC_BATCH" default:"100" help:"Most calls accepted in one JSON-RPC batch; a larger batch is refused whole."`
	HyperstackRateLimit int           `name:"hyperstack-rate-limit" env:"CLOUDMETER_HYPERSTACK_RATE_LIMIT" default:"500" help:"Requests a minute one API key may make of the Hyperstack-compatible API (/v1/billing/, /v1/pricebook), per server process; past it, 429 with Retry-After. 0 or less: no limit."`
	ShutdownTimeout     time.Duration `env:"CLOUDMETER_SHUTDOWN_TIMEOUT" default:"15s" help:"How long a shutdown waits for in-flight requests."`
	RequestTimeout      time.Duration `env:"CLOUDMETER_REQUEST_TIMEOUT" default:"60s" help:"How long one request may take; past it the request fails with 503 and its work is rolled back (a database that stops answering never hangs a client)."`
	ReadTimeout         time.Duration `env:"CLOUDMETER_READ_TIMEOUT" default:"60s" help:"How long reading one request (headers and body) may take; a slower client is cut off."`
	WriteTimeout        time.Duration `env:"CLOUDMETER_WRITE_TIMEOUT" default:"2m" help:"How long a request may take from its headers to the end of its answer (at least --request-timeout plus 30s); a client that reads its answer slower is cut off."`
	IdleTimeout         time.Duration `env:"CLOUDMETER_IDLE_TIMEOUT" default:"120s" help:"How long an idle keep-alive connection is kept open."`
	LogFormat           string        `env:"CLOUDMETER_LOG_FORMAT" default:"text" enum:"text,json" help:"Log format: text or json."`
	ExportFlags
}

// Run serves until interrupted.
func (c *ServeCmd) Run(g *Globals) error {
	var h slog.Handler = slog.NewTextHandler(g.Stderr, nil)
	if c.LogFormat == "json" {
		h = slog.NewJSONHandler(g.Stderr, nil)
	}
	return server.Run(g.Ctx, server.Config{
		Listen:              c.Listen,
		DataDir:             c.DataDir,
		DatabaseURL:         c.DatabaseURL,
		Limits:              httpapi.Limits{MaxBodyBytes: c.MaxBodyBytes, MaxBatchEvents: c.MaxBatchEvents},
		Service:             service.Limits{MaxReportYears: c.MaxReportYears, MaxReportRecords: c.MaxReportRecords},
		MaxRPCBatch:         c.MaxRPCBatch,
		HyperstackRateLimit: hyperstackRateLimit(c.HyperstackRateLimit),
		ShutdownTimeout:     c.ShutdownTimeout,
		RequestTimeout:      c.RequestTimeout,
		ReadTimeout:         c.ReadTimeout,
		WriteTimeout:        c.WriteTimeout,
		IdleTimeout:         c.IdleTimeout,
		SecretFile:          c.SecretFile,
		Logger:              slog.New(h),
		Exports:             c.ExportFlags.config(),
	})
}

// hyperstackRateLimit turns the flag (0 or less: no limit) into server.Config's field
// (0: the default; negative: no limit).
func hyperstackRateLimit(flag int) int {
	if flag <= 0 {
		return -1
	}
	return flag
}

// MigrateCmd applies migrations.
type MigrateCmd struct {
	StoreFlags
}

// Run applies pending migrations.
func (c *MigrateCmd) Run(g *Globals) error {
	st, _, err := c.open(g.Ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintln(g.Stdout, "database is up to date:", storeopen.Describe(c.DataDir, c.DatabaseURL))
	return nil
}

// RerateCmd rates every product again.
type RerateCmd struct {
	StoreFlags
}

// Run re-rates.
func (c *RerateCmd) Run(g *Globals) error {
	st, svc, err := c.open(g.Ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := svc.Rerate(g.Ctx, service.SystemKey)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "re-rated %d products\n", n)
	return nil
}
