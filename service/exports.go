package service

import (
	"context"
	"encoding/base64"
	"net/url"
	"strings"
	"time"

	"github.com/cloudmeter/cloudmeter"
)

// ExportTargetRequest is what an administrator sets on an export target.
type ExportTargetRequest struct {
	ID              string
	URL             string
	ConfigurationID string
	Token           cloudmeter.Secret
	Users           []int64
	Infrastructures []int64
	// Schedule is the time between submissions (hourly when 0).
	Schedule time.Duration
}

// Validate checks every field and names the one that breaks a rule. The token is never
// part of a message.
//
// Errors: KindInvalid.
func (r ExportTargetRequest) Validate() error {
	if r.ID == "" || len(r.ID) > 64 {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "id: must be 1 to 64 characters")
	}
	for _, c := range r.ID {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return cloudmeter.Errorf(cloudmeter.KindInvalid, "id: %q may hold only letters, digits, '-', '_' and '.'", r.ID)
		}
	}
	u, err := url.Parse(r.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "url: must be an absolute http or https URL without user, query or fragment (the billing system's base URL)")
	}
	if err := cloudmeter.CheckText("configuration_id", r.ConfigurationID, cloudmeter.MaxNameBytes); err != nil {
		return err
	}
	if r.ConfigurationID == "" {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "configuration_id: the integrationConfigurationId is required")
	}
	if r.Token.Reveal() == "" {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "token: the installation's access token is required")
	}
	if cloudmeter.HasControl(r.Token.Reveal()) || len(r.Token.Reveal()) > 4096 {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "token: must be at most 4096 bytes without control characters")
	}
	if strings.HasPrefix(r.Token.Reveal(), sealedTokenPrefix) {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "token: must not begin with %q, which marks a token sealed under the server secret", sealedTokenPrefix)
	}
	if len(r.Users) == 0 {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "users: name at least one user whose usage the target receives")
	}
	for i, u := range r.Users {
		if u <= 0 {
			return cloudmeter.Errorf(cloudmeter.KindInvalid, "users[%d]: must be a user id above 0", i)
		}
	}
	for i, id := range r.Infrastructures {
		if id <= 0 {
			return cloudmeter.Errorf(cloudmeter.KindInvalid, "infrastructures[%d]: must be an infrastructure id above 0", i)
		}
	}
	if r.Schedule < 0 || (r.Schedule > 0 && r.Schedule < time.Second) || r.Schedule%time.Second != 0 {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "schedule: %v must be whole seconds, at least 1s", r.Schedule)
	}
	return nil
}

// PutExportTarget creates an export target, or replaces the one with its ID (which keeps
// its deliveries and its round). A new target's first round is due at once; its billing
// period is the calendar month.
//
// Errors: KindForbidden when the caller is not an admin; KindInvalid naming the field.
func (s *Service) PutExportTarget(ctx context.Context, caller cloudmeter.APIKey, r ExportTargetRequest) (cloudmeter.ExportTarget, error) {
	if err := caller.Require(cloudmeter.PermAdmin); err != nil {
		return cloudmeter.ExportTarget{}, err
	}
	if err := r.Validate(); err != nil {
		return cloudmeter.ExportTarget{}, err
	}
	now := s.Now()
	schedule := int64(r.Schedule / time.Second)
	if schedule == 0 {
		schedule = cloudmeter.DefaultExportSchedule
	}
	token, err := s.sealToken(r.ID, r.Token)
	if err != nil {
		return cloudmeter.ExportTarget{}, err
	}
	t := cloudmeter.ExportTarget{ID: r.ID, URL: r.URL, ConfigurationID: r.ConfigurationID, Token: token, Users: r.Users,
		Infrastructures: r.Infrastructures, Schedule: schedule, NextRunAt: now, OpenPeriod: PeriodOf(now), CreatedAt: now}
	if err := s.store.PutExportTarget(ctx, t); err != nil {
		return t, err
	}
	return s.store.ExportTarget(ctx, t.ID)
}

// ExportTargets lists the export targets.
//
// Errors: KindForbidden when the caller is not an admin.
func (s *Service) ExportTargets(ctx context.Context, caller cloudmeter.APIKey) ([]cloudmeter.ExportTarget, error) {
	if err := caller.Require(cloudmeter.PermAdmin); err != nil {
		return nil, err
	}
	return s.store.ExportTargets(ctx)
}

// DeleteExportTarget deletes a target and its outbox.
//
// Errors: KindForbidden when the caller is not an admin; KindNotFound.
func (s *Service) DeleteExportTarget(ctx context.Context, caller cloudmeter.APIKey, id string) error {
	if err := caller.Require(cloudmeter.PermAdmin); err != nil {
		return err
	}
	return s.store.DeleteExportTarget(ctx, id)
}

// ExportStatuses returns each target's last success, failures and backlog.
//
// Errors: KindForbidden when the caller is not an admin.
func (s *Service) ExportStatuses(ctx context.Context, caller cloudmeter.APIKey) ([]cloudmeter.ExportStatus, error) {
	if err := caller.Require(cloudmeter.PermAdmin); err != nil {
		return nil, err
	}
	return s.store.ExportStatuses(ctx)
}

// Deliveries lists outbox deliveries, newest first.
//
// Errors: KindForbidden when the caller is not an admin.
func (s *Service) Deliveries(ctx context.Context, caller cloudmeter.APIKey, q cloudmeter.DeliveryQuery) ([]cloudmeter.Delivery, error) {
	if err := caller.Require(cloudmeter.PermAdmin); err != nil {
		return nil, err
	}
	return s.store.Deliveries(ctx, q)
}

// Outbox is the export outbox as the delivery worker uses it, for an admin caller (the
// worker acts as SystemKey).
//
// Errors: KindForbidden when the caller is not an admin.
func (s *Service) Outbox(caller cloudmeter.APIKey) (cloudmeter.ExportStore, error) {
	if err := caller.Require(cloudmeter.PermAdmin); err != nil {
		return nil, err
	}
	return s.store, nil
}

// PeriodOf names the calendar month (UTC) that holds t: "2026-12".
func PeriodOf(t int64) string { return time.Unix(t, 0).UTC().Format("2006-01") }

// PeriodBounds returns the first second of a period and the first second of the next.
//
// Errors: KindInvalid when period is not "YYYY-MM".
func PeriodBounds(period string) (start, next int64, err error) {
	p, perr := time.Parse("2006-01", period)
	if perr != nil {
		return 0, 0, cloudmeter.Errorf(cloudmeter.KindInvalid, "period: %q is not a month written YYYY-MM", period)
	}
	return p.Unix(), p.AddDate(0, 1, 0).Unix(), nil
}

// sealedTokenPrefix begins an export token as stored when it is sealed under the server
// secret; what follows is the sealed token in base64.
const sealedTokenPrefix = "sealed:v1:"

// exportTokenContext binds a sealed token to its target: a sealed token copied to another
// target's row does not open.
func exportTokenContext(targetID string) string { return "export-target:" + targetID }

// sealToken returns an export target's token as it is stored: sealed under the server
// secret when the service has one (--secret-file), as given otherwise.
func (s *Service) sealToken(targetID string, token cloudmeter.Secret) (cloudmeter.Secret, error) {
	if s.sealer == nil {
		return token, nil
	}
	sealed, err := s.sealer.Seal(exportTokenContext(targetID), []byte(token.Reveal()))
	if err != nil {
		return "", cloudmeter.Errorf(cloudmeter.KindInternal, "sealing the export token: %v", err)
	}
	return cloudmeter.Secret(sealedTokenPrefix + base64.StdEncoding.EncodeToString(sealed)), nil
}

// ExportToken returns the token a target's submissions are sent with: the stored token,
// opened with the server secret when it was stored sealed.
//
// Errors: KindUnavailable when it is sealed and this process has no server secret, or
// one that does not open it (the message never holds the token).
func (s *Service) ExportToken(t cloudmeter.ExportTarget) (cloudmeter.Secret, error) {
	stored := t.Token.Reveal()
	rest, sealed := strings.CutPrefix(stored, sealedTokenPrefix)
	if !sealed {
		return t.Token, nil
	}
	if s.sealer == nil {
		return "", cloudmeter.Errorf(cloudmeter.KindUnavailable,
			"export target %s: its token is sealed under a server secret and this process was given none (--secret-file)", t.ID)
	}
	b, err := base64.StdEncoding.DecodeString(rest)
	if err == nil {
		b, err = s.sealer.Open(exportTokenContext(t.ID), b)
	}
	if err != nil {
		return "", cloudmeter.Errorf(cloudmeter.KindUnavailable,
			"export target %s: its sealed token does not open with the server secret of --secret-file (another secret, or the row was altered): add the target again with its token", t.ID)
	}
	return cloudmeter.Secret(b), nil
}
