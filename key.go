package cloudmeter

import (
	"fmt"
	"strings"
)

// Permission is something an API key may do (DESIGN 4).
type Permission string

// The permissions.
const (
	PermUtilizationReportsRead Permission = "utilization_reports_read" // read any user's reports
	PermEventsWrite            Permission = "events_write"             // send events
	PermPricesRead             Permission = "prices_read"              // read the price book
	PermPricesWrite            Permission = "prices_write"             // replace the price book
	PermAdmin                  Permission = "admin"                    // keys, anomalies, everything else
)

// Permissions lists every permission.
var Permissions = []Permission{PermUtilizationReportsRead, PermEventsWrite, PermPricesRead, PermPricesWrite, PermAdmin}

// ParsePermissions parses a comma-separated list of permissions.
//
// Errors: KindInvalid naming the unknown permission.
func ParsePermissions(s string) ([]Permission, error) {
	var out []Permission
	seen := map[Permission]bool{}
	for _, f := range strings.Split(s, ",") {
		p := Permission(strings.TrimSpace(f))
		if p == "" {
			continue
		}
		known := false
		for _, k := range Permissions {
			known = known || p == k
		}
		if !known {
			return nil, Errorf(KindInvalid, "permissions: %q is not a permission (one of %s)", p, permissionList())
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out, nil
}

func permissionList() string {
	s := make([]string, len(Permissions))
	for i, p := range Permissions {
		s[i] = string(p)
	}
	return strings.Join(s, ", ")
}

// APIKey is a stored API key. The key itself is shown once, at creation; only its hash is
// kept. Keys look like "<user_id>:<secret>" so that MetalSoft clients can read the user id.
type APIKey struct {
	// ID is a short public name of the key (the first hex digits of its hash), used to
	// list and revoke it.
	ID          string
	UserID      int64
	Hash        string
	Label       string
	Permissions []Permission
	CreatedAt   int64
	RevokedAt   int64 // 0 while the key is live
	// Signing is set for a key made for signing requests, whose secret is kept sealed
	// under the server secret (SigningKey); false for a hash-only key.
	Signing bool
}

// Has reports whether the key grants p. Admin grants everything.
func (k APIKey) Has(p Permission) bool {
	for _, q := range k.Permissions {
		if q == p || q == PermAdmin {
			return true
		}
	}
	return false
}

// CanReadUser reports whether the key may read the reports of user: its own user always,
// any user with utilization_reports_read.
func (k APIKey) CanReadUser(user int64) bool {
	return k.UserID == user || k.Has(PermUtilizationReportsRead)
}

// Require returns a KindForbidden error unless the key grants p.
func (k APIKey) Require(p Permission) error {
	if k.Has(p) {
		return nil
	}
	return Errorf(KindForbidden, "this API key lacks the %s permission", p)
}

// String describes the key without its secret.
func (k APIKey) String() string {
	return fmt.Sprintf("key %s (user %d)", k.ID, k.UserID)
}
