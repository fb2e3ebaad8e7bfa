package cli

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/internal/keyseal"
	"github.com/cloudmeter/cloudmeter/internal/storeopen"
	"github.com/cloudmeter/cloudmeter/service"
	"github.com/cloudmeter/cloudmeter/sqlstore"
)

// KeysCmd manages API keys.
type KeysCmd struct {
	Create KeysCreateCmd `cmd:"" help:"Create a key; the key is printed once, as the last line."`
	List   KeysListCmd   `cmd:"" help:"List keys (never their secrets)."`
	Revoke KeysRevokeCmd `cmd:"" help:"Revoke a key by its id."`
}

// SecretFlags give the server secret, which seals the secrets of signing keys.
type SecretFlags struct {
	SecretFile string `name:"secret-file" env:"CLOUDMETER_SECRET_FILE" help:"File holding the server secret (at least 32 bytes; make one with: head -c 32 /dev/urandom | base64 > FILE). It seals the secrets of signing keys, so that signed requests (MetalSoft's SDKs) can be verified, and the access tokens of export targets; it is never stored in the database. keys create --signing, exports add, push and serve must be given the same file."`
}

// sealer loads the server secret, nil when no file is given.
func (f SecretFlags) sealer() (*keyseal.Sealer, error) {
	if f.SecretFile == "" {
		return nil, nil
	}
	s, err := keyseal.Load(f.SecretFile)
	if err != nil {
		return nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "%v", err)
	}
	return s, nil
}

// openSealed opens the store and a service that holds the server secret, when one is
// given.
func (f SecretFlags) openSealed(ctx context.Context, sf StoreFlags) (*sqlstore.Store, *service.Service, error) {
	sealer, err := f.sealer()
	if err != nil {
		return nil, nil, err
	}
	st, err := storeopen.Open(ctx, sf.DataDir, sf.DatabaseURL)
	if err != nil {
		return nil, nil, err
	}
	return st, service.New(st, service.Options{Sealer: sealer}), nil
}

// KeysCreateCmd creates a key.
type KeysCreateCmd struct {
	StoreFlags
	SecretFlags
	User        int64  `required:"" help:"User id the key belongs to (the key starts with it)."`
	Permissions string `help:"Comma-separated permissions: utilization_reports_read, events_write, prices_read, prices_write, admin. None (the default) makes a customer's key: it reads its own user's usage (reports, resources, anomalies, Hyperstack billing) and nothing else, and is refused every other user's."`
	Label       string `help:"A note saying what the key is for."`
	Signing     bool   `help:"Make a key that can also sign requests, as MetalSoft's Go and JS SDKs do (?verify=<user_id>:<HMAC of the body>): its secret is kept sealed under the server secret of --secret-file, which serve must be given too. Other keys are kept only as hashes."`
}

// Run creates the key.
func (c *KeysCreateCmd) Run(g *Globals) error {
	perms, err := cloudmeter.ParsePermissions(c.Permissions)
	if err != nil {
		return err
	}
	if c.Signing && c.SecretFile == "" {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "--signing needs --secret-file FILE (or %s): the server secret its secret is sealed under", keyseal.Env)
	}
	st, svc, err := c.openSealed(g.Ctx, c.StoreFlags)
	if err != nil {
		return err
	}
	defer st.Close()
	create := svc.CreateKey
	if c.Signing {
		create = svc.CreateSigningKey
	}
	plain, k, err := create(g.Ctx, service.SystemKey, c.User, perms, c.Label)
	if err != nil {
		return err
	}
	what := c.Permissions
	if len(perms) == 0 {
		what = "no permission (a customer's key: it reads its own user's usage only)"
	}
	if c.Signing {
		what += "; it can sign requests (its secret is sealed under the server secret)"
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
	st, svc, err := c.openExisting(g.Ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	keys, err := svc.Keys(g.Ctx, service.SystemKey)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSER\tPERMISSIONS\tSIGNING\tCREATED\tREVOKED\tLABEL")
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
		if perms == "" {
			perms = "(own usage only)"
		}
		signing := "no"
		if k.Signing {
			signing = "yes"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.UserID, perms, signing, cloudmeter.FormatTime(k.CreatedAt), revoked, k.Label)
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
	st, svc, err := c.openExisting(g.Ctx)
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
