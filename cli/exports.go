package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/service"
)

// ExportsCmd manages export targets.
type ExportsCmd struct {
	Add    ExportsAddCmd    `cmd:"" help:"Add an export target (or replace the one with its id): a billing system that receives usage and interim billing in the marketplace format."`
	List   ExportsListCmd   `cmd:"" help:"List the export targets (never their tokens)."`
	Remove ExportsRemoveCmd `cmd:"" help:"Remove an export target and its outbox."`
	Status ExportsStatusCmd `cmd:"" help:"Show each export target's last success, its failures and its backlog."`
}

// ExportsAddCmd adds an export target.
type ExportsAddCmd struct {
	StoreFlags
	SecretFlags
	ID              string        `required:"" help:"A name for the target (letters, digits, '-', '_', '.')."`
	URL             string        `name:"url" required:"" help:"The billing system's base URL; submissions go to URL/v1/installations/ID/billing."`
	ConfigurationID string        `name:"configuration-id" required:"" help:"The installation's integrationConfigurationId."`
	Token           string        `env:"CLOUDMETER_EXPORT_TOKEN" help:"The installation's access token (better from the environment or --token-file, which other users cannot read in the process list). Never printed. Stored sealed under the server secret when --secret-file is given (then serve and push need the same file), as given otherwise."`
	TokenFile       string        `name:"token-file" type:"existingfile" help:"Read the access token from this file (its first line)."`
	Users           []int64       `required:"" help:"The users whose usage the target receives (comma-separated or repeated)."`
	Infrastructures []int64       `help:"Only these infrastructures of theirs (all when not given)."`
	Schedule        time.Duration `default:"1h" help:"Time between two submissions."`
}

// Run adds the target.
func (c *ExportsAddCmd) Run(g *Globals) error {
	token := c.Token
	if c.TokenFile != "" {
		b, err := os.ReadFile(c.TokenFile)
		if err != nil {
			return cloudmeter.Errorf(cloudmeter.KindInvalid, "--token-file: %v", err)
		}
		token = strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0])
	}
	st, svc, err := c.openSealed(g.Ctx, c.StoreFlags)
	if err != nil {
		return err
	}
	defer st.Close()
	t, err := svc.PutExportTarget(g.Ctx, service.SystemKey, service.ExportTargetRequest{ID: c.ID, URL: c.URL, ConfigurationID: c.ConfigurationID,
		Token: cloudmeter.Secret(token), Users: c.Users, Infrastructures: c.Infrastructures, Schedule: c.Schedule})
	if err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "export target %s: %s, installation %s, users %s, every %s, next submission at %s\n", t.ID, t.URL, t.ConfigurationID,
		ids(t.Users), time.Duration(t.Schedule)*time.Second, cloudmeter.FormatTime(t.NextRunAt))
	return nil
}

func ids(xs []int64) string {
	if len(xs) == 0 {
		return "all"
	}
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ",")
}

// ExportsListCmd lists the targets.
type ExportsListCmd struct {
	StoreFlags
}

// Run lists the targets.
func (c *ExportsListCmd) Run(g *Globals) error {
	st, svc, err := c.openExisting(g.Ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	ts, err := svc.ExportTargets(g.Ctx, service.SystemKey)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tURL\tCONFIGURATION\tUSERS\tINFRASTRUCTURES\tSCHEDULE\tNEXT SUBMISSION\tOPEN PERIOD")
	for _, t := range ts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.URL, t.ConfigurationID, ids(t.Users), ids(t.Infrastructures),
			time.Duration(t.Schedule)*time.Second, cloudmeter.FormatTime(t.NextRunAt), t.OpenPeriod)
	}
	return tw.Flush()
}

// ExportsRemoveCmd removes a target.
type ExportsRemoveCmd struct {
	StoreFlags
	ID string `required:"" help:"The target's id."`
}

// Run removes the target.
func (c *ExportsRemoveCmd) Run(g *Globals) error {
	st, svc, err := c.open(g.Ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := svc.DeleteExportTarget(g.Ctx, service.SystemKey, c.ID); err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "export target %s removed with its outbox\n", c.ID)
	return nil
}

// ExportsStatusCmd shows the targets' deliveries.
type ExportsStatusCmd struct {
	StoreFlags
}

// Run prints the status.
func (c *ExportsStatusCmd) Run(g *Globals) error {
	st, svc, err := c.openExisting(g.Ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	sts, err := svc.ExportStatuses(g.Ctx, service.SystemKey)
	if err != nil {
		return err
	}
	return WriteExportStatus(g.Stdout, sts, svc.Now())
}

// WriteExportStatus prints one line per target, then the last refused delivery of each
// target that has one.
func WriteExportStatus(w io.Writer, sts []cloudmeter.ExportStatus, now int64) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tURL\tLAST SUCCESS\tSENT\tFAILED\tBACKLOG\tOLDEST WAITING\tNEXT SUBMISSION")
	for _, st := range sts {
		last, oldest := "never", "-"
		if st.LastSentAt > 0 {
			last = cloudmeter.FormatTime(st.LastSentAt)
		}
		if st.OldestPendingAt > 0 {
			oldest = fmt.Sprintf("%s (%s ago)", cloudmeter.FormatTime(st.OldestPendingAt), time.Duration(max(now-st.OldestPendingAt, 0))*time.Second)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", st.Target.ID, st.Target.URL, last, st.Sent, st.Failed, st.Pending, oldest,
			cloudmeter.FormatTime(st.Target.NextRunAt))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, st := range sts {
		if f := st.LastFailure; f != nil {
			fmt.Fprintf(w, "\n%s: delivery %d (%s of %s, built %s) refused after %d attempt(s), not retried: %s\n", st.Target.ID, f.Seq, f.Kind, f.Period,
				cloudmeter.FormatTime(f.CreatedAt), f.Attempts, f.LastError)
		}
	}
	return nil
}
