package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/service"
)

// KeysCmd manages API keys.
type KeysCmd struct {
	Create KeysCreateCmd `cmd:"" help:"Create a key; the key is printed once, as the last line."`
	List   KeysListCmd   `cmd:"" help:"List keys (never their secrets)."`
	Revoke KeysRevokeCmd `cmd:"" help:"Revoke a key by its id."`
}

// KeysCreateCmd creates a key.
type KeysCreateCmd struct {
	StoreFlags
	User        int64  `required:"" help:"User id the key belongs to (the key starts with it)."`
	Permissions string `help:"Comma-separated permissions: utilization_reports_read, events_write, prices_read, prices_write, admin. None makes a customer's key, which reads its own user's usage only."`
	Label       string `help:"A note saying what the key is for."`
}

// Run creates the key.
func (c *KeysCreateCmd) Run(g *Globals) error {
	perms, err := cloudmeter.ParsePermissions(c.Permissions)
	if err != nil {
		return err
	}
	st, svc, err := c.open(g.Ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	plain, k, err := svc.CreateKey(g.Ctx, service.SystemKey, c.User, perms, c.Label)
	if err != nil {
		return err
	}
	what := c.Permissions
	if len(perms) == 0 {
		what = "no permission (a customer's key: it reads its own user's usage only)"
	}
	fmt.Fprintf(g.Stdout, "created key %s for user %d with %s\nstore it now: it is shown only once\n%s\n", k.ID, k.UserID, what, plain)
	return nil
}

// KeysListCmd lists keys.
type KeysListCmd struct {
	StoreFlags
}

// Run lists the keys.
func (c *KeysListCmd) Run(g *Globals) error {
	st, svc, err := c.open(g.Ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	keys, err := svc.Keys(g.Ctx, service.SystemKey)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSER\tPERMISSIONS\tCREATED\tREVOKED\tLABEL")
	for _, k := range keys {
		revoked := "-"
		if k.RevokedAt != 0 {
			revoked = cloudmeter.FormatTime(k.RevokedAt)
		}
		perms := ""
		for i, p := range k.Permissions {
			if i > 0 {
				perms += ","
			}
			perms += string(p)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", k.ID, k.UserID, perms, cloudmeter.FormatTime(k.CreatedAt), revoked, k.Label)
	}
	return tw.Flush()
}

// KeysRevokeCmd revokes a key.
type KeysRevokeCmd struct {
	StoreFlags
	ID string `arg:"" help:"Id of the key (from keys list)."`
}

// Run revokes the key.
func (c *KeysRevokeCmd) Run(g *Globals) error {
	st, svc, err := c.open(g.Ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := svc.RevokeKey(g.Ctx, service.SystemKey, c.ID); err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "revoked key %s\n", c.ID)
	return nil
}
