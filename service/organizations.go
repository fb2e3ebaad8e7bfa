package service

// Organizations (DESIGN 2): each user belongs to one organization, its own id unless an
// administrator put it in another (cloudmeter.OrganizationStore). The organization-level
// views (the Hyperstack API, prepaid credit) read the usage of an organization's users;
// the reports of one user (native, MetalSoft) stay per user.

import (
	"context"

	"github.com/cloudmeter/cloudmeter"
)

// organizationOf returns the organization a user belongs to.
//
// Errors: KindUnavailable only.
func (s *Service) organizationOf(ctx context.Context, userID int64) (int64, error) {
	return s.store.OrganizationOf(ctx, userID)
}

// usersOf returns the users of an organization, ascending, and whether the organization
// is known: a user was put in it, or its id is that of a user cloudmeter knows (one that
// owns resources or keys) and who is in its own organization.
//
// Errors: KindUnavailable only.
func (s *Service) usersOf(ctx context.Context, orgID int64) (users []int64, known bool, err error) {
	users, err = s.store.OrganizationUsers(ctx, orgID)
	if err != nil {
		return nil, false, err
	}
	for _, u := range users {
		if u != orgID {
			return users, true, nil // put in it by an administrator
		}
	}
	if len(users) == 0 {
		return users, false, nil
	}
	known, err = s.store.UserExists(ctx, orgID)
	return users, known, err
}

// orgAccess checks that key may read organization org (0: the key's own) and returns the
// key's own organization and org's users: any key reads its own organization; another
// needs utilization_reports_read.
//
// Errors: KindInvalid for a negative org; KindForbidden for another organization without
// utilization_reports_read; KindNotFound about SubjectUser for another organization that
// is not known (see usersOf).
func (s *Service) orgAccess(ctx context.Context, key cloudmeter.APIKey, org int64) (own int64, users []int64, err error) {
	if org < 0 {
		return 0, nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "organization_id: %d must be an organization id above 0", org)
	}
	if own, err = s.organizationOf(ctx, key.UserID); err != nil {
		return 0, nil, err
	}
	if org == 0 {
		org = own
	}
	if org <= 0 {
		// The command line's caller has no user, and so no organization of its own.
		return own, nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "organization_id: this caller has no organization of its own: name one above 0")
	}
	if org != own && !key.Has(cloudmeter.PermUtilizationReportsRead) {
		return own, nil, cloudmeter.Errorf(cloudmeter.KindForbidden, "this API key may read only organization %d's billing: reading organization %d needs the %s permission",
			own, org, cloudmeter.PermUtilizationReportsRead)
	}
	if org == own {
		// The key's own: known, since the key's user is in it.
		users, err = s.store.OrganizationUsers(ctx, org)
		return own, users, err
	}
	users, known, err := s.usersOf(ctx, org)
	if err != nil {
		return own, nil, err
	}
	if !known {
		return own, nil, organizationNotFound(org)
	}
	return own, users, nil
}

func organizationNotFound(org int64) error {
	return cloudmeter.Errorf(cloudmeter.KindNotFound, "organization %d not found: no user is in it", org).About(cloudmeter.SubjectUser)
}

// Membership is the organization a user belongs to, with the organization's users.
type Membership struct {
	UserID         int64
	OrganizationID int64
	// Users are the organization's users, ascending.
	Users []int64
}

// SetOrganization puts a user in an organization from now on (orgID == userID: back in
// its own, the default). The organization need not exist: putting a user in it makes it.
// Usage already recorded moves with the user: an organization's views read the usage of
// the users it holds when they are read.
//
// Errors: KindForbidden without admin; KindInvalid for an id that is not above 0;
// KindNotFound about SubjectUser for a user cloudmeter does not know (one that owns no
// resources and no keys).
func (s *Service) SetOrganization(ctx context.Context, key cloudmeter.APIKey, userID, orgID int64) (Membership, error) {
	if err := key.Require(cloudmeter.PermAdmin); err != nil {
		return Membership{}, err
	}
	if err := checkIDs(userID, orgID); err != nil {
		return Membership{}, err
	}
	if err := s.userMustExist(ctx, userID); err != nil {
		return Membership{}, err
	}
	if err := s.store.SetOrganization(ctx, userID, orgID, s.Now()); err != nil {
		return Membership{}, err
	}
	users, _, err := s.usersOf(ctx, orgID)
	return Membership{UserID: userID, OrganizationID: orgID, Users: users}, err
}

// Organization returns the organization a user belongs to.
//
// Errors: KindInvalid for a user id that is not above 0; KindForbidden unless the key is
// the user's own or has utilization_reports_read; KindNotFound about SubjectUser for a
// user cloudmeter does not know.
func (s *Service) Organization(ctx context.Context, key cloudmeter.APIKey, userID int64) (Membership, error) {
	if userID <= 0 {
		return Membership{}, cloudmeter.Errorf(cloudmeter.KindInvalid, "user_id: %d must be a user id above 0", userID)
	}
	if !key.CanReadUser(userID) {
		return Membership{}, cloudmeter.Errorf(cloudmeter.KindForbidden, "this API key may read only user %d's organization: reading user %d's needs the %s permission",
			key.UserID, userID, cloudmeter.PermUtilizationReportsRead)
	}
	if err := s.userMustExist(ctx, userID); err != nil {
		return Membership{}, err
	}
	org, err := s.organizationOf(ctx, userID)
	if err != nil {
		return Membership{}, err
	}
	users, _, err := s.usersOf(ctx, org)
	return Membership{UserID: userID, OrganizationID: org, Users: users}, err
}

func checkIDs(userID, orgID int64) error {
	if userID <= 0 {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "user_id: %d must be a user id above 0", userID)
	}
	if orgID <= 0 {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "organization_id: %d must be an organization id above 0", orgID)
	}
	return nil
}

func (s *Service) userMustExist(ctx context.Context, userID int64) error {
	ok, err := s.store.UserExists(ctx, userID)
	if err != nil {
		return err
	}
	if !ok {
		return cloudmeter.Errorf(cloudmeter.KindNotFound, "user %d not found: it owns no resources and no keys", userID).About(cloudmeter.SubjectUser)
	}
	return nil
}
