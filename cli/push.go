package cli

import (
	"fmt"
	"time"

	"github.com/cloudmeter/cloudmeter/export"
	"github.com/cloudmeter/cloudmeter/server"
)

// PushCmd sends the exports.
type PushCmd struct {
	StoreFlags
	SecretFlags
	Once       bool          `help:"Run one round and exit: a submission for every export target (due or not), then send every delivery that is due. Without it, run rounds on the targets' schedules until interrupted."`
	Poll       time.Duration `default:"10s" help:"Time between two rounds (without --once)."`
	Lease      time.Duration `default:"2m" help:"How long a claimed delivery is this instance's alone; after a crash it is sent again once this has passed."`
	MinBackoff time.Duration `name:"min-backoff" default:"2s" help:"Wait before the first retry of a delivery that failed (doubled each time, with jitter)."`
	MaxBackoff time.Duration `name:"max-backoff" default:"15m" help:"Longest wait between two retries."`
}

// Run pushes.
func (c *PushCmd) Run(g *Globals) error {
	st, svc, err := c.openSealed(g.Ctx, c.StoreFlags)
	if err != nil {
		return err
	}
	defer st.Close()
	w, err := export.New(export.Config{Service: svc, Poll: c.Poll, Lease: c.Lease, MinBackoff: c.MinBackoff, MaxBackoff: c.MaxBackoff,
		Logger: quietLogger(g.Stderr)})
	if err != nil {
		return err
	}
	if !c.Once {
		w.Run(g.Ctx)
		return nil
	}
	res, err := w.Round(g.Ctx, true)
	fmt.Fprintf(g.Stdout, "enqueued %d, sent %d, refused %d, to retry %d\n", res.Enqueued, res.Sent, res.Failed, res.Retried)
	if err != nil {
		return err
	}
	if res.Failed > 0 {
		fmt.Fprintln(g.Stdout, "see `cloudmeter exports status` for what the receiver refused")
	}
	return nil
}

// ExportFlags configure the export worker of serve.
type ExportFlags struct {
	ExportWorker     bool          `name:"export-worker" env:"CLOUDMETER_EXPORT_WORKER" default:"true" negatable:"" help:"Run the export worker beside the server: submissions to the export targets on their schedules, retried until accepted (--no-export-worker: leave it to another instance or to cloudmeter push)."`
	ExportPoll       time.Duration `name:"export-poll" env:"CLOUDMETER_EXPORT_POLL" default:"10s" help:"Time between two rounds of the export worker."`
	ExportLease      time.Duration `name:"export-lease" env:"CLOUDMETER_EXPORT_LEASE" default:"2m" help:"How long a delivery claimed by this instance is its alone; after a crash it is sent again once this has passed."`
	ExportMinBackoff time.Duration `name:"export-min-backoff" env:"CLOUDMETER_EXPORT_MIN_BACKOFF" default:"2s" help:"Wait before the first retry of a delivery (doubled each time, with jitter)."`
	ExportTimeout    time.Duration `name:"export-timeout" env:"CLOUDMETER_EXPORT_TIMEOUT" default:"30s" help:"How long one attempt to send a delivery may take; past it the attempt counts as failed and is retried."`
	ExportMaxBackoff time.Duration `name:"export-max-backoff" env:"CLOUDMETER_EXPORT_MAX_BACKOFF" default:"15m" help:"Longest wait between two retries of a delivery."`
}

func (f ExportFlags) config() server.ExportConfig {
	return server.ExportConfig{Enabled: f.ExportWorker, Poll: f.ExportPoll, Lease: f.ExportLease, MinBackoff: f.ExportMinBackoff, MaxBackoff: f.ExportMaxBackoff,
		Timeout: f.ExportTimeout}
}
