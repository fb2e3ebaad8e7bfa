package storetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudmeter/cloudmeter"
)

// RunOrganizations runs the cases of the OrganizationStore role: every user in its own
// organization by default, users put in another and back, the users of an organization.
// open must return a new, empty store each time it is called.
func RunOrganizations(t *testing.T, open func(t *testing.T) cloudmeter.Store) {
	runTests(t, open, []suiteTest{
		{"OrganizationsByDefault", testOrganizationsByDefault},
		{"OrganizationsSet", testOrganizationsSet},
	})
}

func wantOrganization(t *testing.T, s cloudmeter.Store, user, want int64) {
	t.Helper()
	if got, err := s.OrganizationOf(ctxOf(t), user); err != nil || got != want {
		t.Errorf("OrganizationOf(%d) = %d, %v; want %d", user, got, err, want)
	}
}

func wantUsers(t *testing.T, s cloudmeter.Store, org int64, want ...int64) {
	t.Helper()
	got, err := s.OrganizationUsers(ctxOf(t), org)
	if err != nil {
		t.Fatalf("OrganizationUsers(%d): %v", org, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("OrganizationUsers(%d) (-want +got):\n%s", org, diff)
	}
}

func testOrganizationsByDefault(t *testing.T, s cloudmeter.Store) {
	// Users that own nothing yet, and ids that are no user: each its own organization.
	wantOrganization(t, s, 7, 7)
	wantOrganization(t, s, 1<<62, 1<<62)
	wantUsers(t, s, 7, 7)
	wantUsers(t, s, 424242, 424242)
}

func testOrganizationsSet(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	for _, m := range []struct{ user, org int64 }{{8, 7}, {3, 7}, {12, 7}, {9, 100}, {9, 101}} {
		if err := s.SetOrganization(ctx, m.user, m.org, t0); err != nil {
			t.Fatalf("SetOrganization(%d, %d): %v", m.user, m.org, err)
		}
	}
	wantOrganization(t, s, 8, 7)
	wantOrganization(t, s, 7, 7)
	wantOrganization(t, s, 9, 101) // the last one set
	wantUsers(t, s, 7, 3, 7, 8, 12)
	wantUsers(t, s, 100, 100) // user 9 left it; user 100 was never put elsewhere
	wantUsers(t, s, 101, 9, 101)
	wantUsers(t, s, 8) // user 8 is in organization 7: organization 8 has no one left
	wantUsers(t, s, 9)

	// The user whose id an organization's is, once put elsewhere, leaves it.
	if err := s.SetOrganization(ctx, 7, 101, t0+1); err != nil {
		t.Fatal(err)
	}
	wantUsers(t, s, 7, 3, 8, 12)
	wantUsers(t, s, 101, 7, 9, 101)

	// Back in its own organization: the row goes, and the default holds again.
	for _, u := range []int64{7, 9} {
		if err := s.SetOrganization(ctx, u, u, t0+2); err != nil {
			t.Fatal(err)
		}
		wantOrganization(t, s, u, u)
	}
	wantUsers(t, s, 7, 3, 7, 8, 12)
	wantUsers(t, s, 101, 101)
	wantUsers(t, s, 9, 9)

	wantKind(t, "SetOrganization of user 0", s.SetOrganization(ctx, 0, 7, t0), cloudmeter.KindInvalid)
	wantKind(t, "SetOrganization to organization -1", s.SetOrganization(ctx, 7, -1, t0), cloudmeter.KindInvalid)
}
