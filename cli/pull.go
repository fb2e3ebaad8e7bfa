package cli

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/pull"
	"github.com/cloudmeter/cloudmeter/service"
)

// PullCmd imports utilization from other systems.
type PullCmd struct {
	Metalsoft  PullMetalSoftCmd  `cmd:"" name:"metalsoft" help:"Import resource_utilization_detailed of a MetalSoft-compatible endpoint as source-tagged records (never priced again), a calendar month per window."`
	Hyperstack PullHyperstackCmd `cmd:"" name:"hyperstack" help:"Import what each resource's totals in /v1/billing/billing/usage of a Hyperstack-compatible endpoint grew by since the last pull."`
	Windows    PullWindowsCmd    `cmd:"" help:"List the windows pulled so far, by source and user."`
}

// PullMetalSoftCmd pulls from a MetalSoft-compatible endpoint.
type PullMetalSoftCmd struct {
	StoreFlags
	Endpoint string        `required:"" help:"The endpoint: its base URL or its JSON-RPC URL (.../api/developer/developer)."`
	APIKey   string        `name:"api-key" env:"CLOUDMETER_PULL_API_KEY" required:"" help:"An API key of the endpoint with utilization_reports_read, sent as a Bearer token."`
	User     int64         `required:"" help:"The user whose utilization to pull (strUserIDOwner)."`
	AsUser   int64         `name:"as-user" help:"The local user the records are imported for (default: the same id)."`
	From     string        `help:"First second of the window, RFC 3339 (default: the second after the last window pulled from the endpoint for the user)."`
	To       string        `help:"Last second of the window, RFC 3339 (default: the end of the last whole hour)."`
	Source   string        `help:"The tag of the records (default: \"metalsoft \" and the endpoint's URL)."`
	Every    time.Duration `help:"Pull again this often, each time from where the last pull ended, until interrupted (default: once)."`
}

// Run pulls.
func (c *PullMetalSoftCmd) Run(g *Globals) error {
	st, svc, err := c.open(g.Ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	m := pull.MetalSoft{Endpoint: c.Endpoint, APIKey: c.APIKey, Source: c.Source}
	local := c.AsUser
	if local == 0 {
		local = c.User
	}
	if local <= 0 || c.User <= 0 {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "--user and --as-user: must be user ids above 0")
	}
	for first := true; ; first = false {
		from, to, err := c.window(g, svc, m.SourceName(), local, first)
		if err != nil {
			return err
		}
		if to >= from {
			bar := newPullProgress(g.Stderr, "pulling "+cloudmeter.FormatTime(from)+" .. "+cloudmeter.FormatTime(to))
			res, err := m.Pull(g.Ctx, svc, c.User, local, from, to, bar.update)
			bar.finish()
			if err != nil {
				return err
			}
			printPull(g.Stdout, res, fmt.Sprintf("user %d, %s .. %s", local, cloudmeter.FormatTime(from), cloudmeter.FormatTime(to)))
		}
		if c.Every <= 0 || !wait(g, c.Every) {
			return nil
		}
	}
}

// window is the window of one pull: the flags the first time, then from the last
// window's end to the end of the last whole hour.
func (c *PullMetalSoftCmd) window(g *Globals, svc *service.Service, source string, user int64, first bool) (from, to int64, err error) {
	now := svc.Now()
	to = now - now%3600 - 1
	if first && c.To != "" {
		if to, err = cloudmeter.ParseTime("--to", c.To); err != nil {
			return 0, 0, err
		}
	}
	if first && c.From != "" {
		from, err = cloudmeter.ParseTime("--from", c.From)
		return from, to, err
	}
	ws, err := svc.PullWindows(g.Ctx, service.SystemKey, source, user)
	if err != nil {
		return 0, 0, err
	}
	if len(ws) == 0 {
		return 0, 0, cloudmeter.Errorf(cloudmeter.KindInvalid, "--from: nothing was pulled from %s for user %d yet: say where to start", source, user)
	}
	last := ws[len(ws)-1]
	return last.To + 1, to, nil
}

func wait(g *Globals, d time.Duration) bool {
	select {
	case <-g.Ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// PullHyperstackCmd pulls from a Hyperstack-compatible endpoint.
type PullHyperstackCmd struct {
	StoreFlags
	Endpoint string        `required:"" help:"The endpoint's base URL (with or without /v1)."`
	APIKey   string        `name:"api-key" env:"CLOUDMETER_PULL_API_KEY" required:"" help:"An API key of the endpoint, sent in the api_key header."`
	User     int64         `help:"The local user every record is imported for (default: each resource's organization_id)."`
	Source   string        `help:"The tag of the records (default: \"hyperstack \" and the endpoint's URL)."`
	Every    time.Duration `help:"Pull again this often until interrupted (default: once)."`
}

// Run pulls.
func (c *PullHyperstackCmd) Run(g *Globals) error {
	st, svc, err := c.open(g.Ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	h := pull.Hyperstack{Endpoint: c.Endpoint, APIKey: c.APIKey, Source: c.Source, UserID: c.User}
	for {
		bar := newPullProgress(g.Stderr, "importing")
		res, err := h.Pull(g.Ctx, svc, bar.update)
		bar.finish()
		if err != nil {
			return err
		}
		printPull(g.Stdout, res, "usage as of "+cloudmeter.FormatTime(svc.Now()))
		if c.Every <= 0 || !wait(g, c.Every) {
			return nil
		}
	}
}

func printPull(w io.Writer, res pull.Result, what string) {
	unchanged := ""
	if res.Changed == 0 {
		unchanged = " (nothing changed)"
	}
	fmt.Fprintf(w, "pulled from %s, %s: %d window(s), %d changed, %d record(s), cost %s%s\n", res.Source, what, res.Windows, res.Changed, res.Records, res.Cost, unchanged)
	for _, warn := range res.Warnings {
		fmt.Fprintln(w, "  warning:", warn)
	}
}

// PullWindowsCmd lists pulled windows.
type PullWindowsCmd struct {
	StoreFlags
	Source string `help:"Only this source."`
	User   int64  `help:"Only this local user."`
}

// Run lists the windows.
func (c *PullWindowsCmd) Run(g *Globals) error {
	st, svc, err := c.openExisting(g.Ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	ws, err := svc.PullWindows(g.Ctx, service.SystemKey, c.Source, c.User)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tUSER\tFROM\tTO\tPULLED AT\tRECORDS\tCOST")
	for _, w := range ws {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%d\t%s\n", w.Source, w.UserID, cloudmeter.FormatTime(w.From), cloudmeter.FormatTime(w.To),
			cloudmeter.FormatTime(w.PulledAt), w.Records, w.Cost)
	}
	return tw.Flush()
}

// pullProgress shows a pull's steps as a bar when stderr is a terminal.
type pullProgress struct {
	w    io.Writer
	what string
	bar  *progressbar.ProgressBar
}

func newPullProgress(w io.Writer, what string) *pullProgress {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return &pullProgress{}
	}
	return &pullProgress{w: w, what: what}
}

func (p *pullProgress) update(done, total int) {
	if p.w == nil {
		return
	}
	if p.bar == nil {
		p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(p.w), progressbar.OptionSetDescription(p.what),
			progressbar.OptionShowCount(), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	_ = p.bar.Set(done)
}

func (p *pullProgress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

// quietLogger logs warnings and errors of background work to w.
func quietLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
