package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/cloudmeter/cloudmeter"
)

// SetOrganization puts a user in an organization; its own organization needs no row.
func (s *Store) SetOrganization(ctx context.Context, userID, orgID, now int64) error {
	if userID <= 0 || orgID <= 0 {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "user %d, organization %d: ids must be above 0", userID, orgID)
	}
	if orgID == userID {
		_, err := s.db.ExecContext(ctx, s.rb(`DELETE FROM organization_members WHERE user_id = ?`), userID)
		return s.err(err)
	}
	_, err := s.db.ExecContext(ctx, s.rb(`INSERT INTO organization_members (user_id, organization_id, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET organization_id = excluded.organization_id, updated_at = excluded.updated_at`), userID, orgID, now)
	return s.err(err)
}

// OrganizationOf returns the organization of a user.
func (s *Store) OrganizationOf(ctx context.Context, userID int64) (int64, error) {
	var org int64
	err := s.db.QueryRowContext(ctx, s.rb(`SELECT organization_id FROM organization_members WHERE user_id = ?`), userID).Scan(&org)
	if errors.Is(err, sql.ErrNoRows) {
		return userID, nil
	}
	return org, s.err(err)
}

// OrganizationUsers returns the users of an organization, ascending.
func (s *Store) OrganizationUsers(ctx context.Context, orgID int64) ([]int64, error) {
	own, err := s.OrganizationOf(ctx, orgID)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.rb(`SELECT user_id FROM organization_members WHERE organization_id = ? ORDER BY user_id`), orgID)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	var out []int64
	added := own != orgID // the user whose id the organization's is, when it is not elsewhere
	for rows.Next() {
		var u int64
		if err := rows.Scan(&u); err != nil {
			return nil, s.err(err)
		}
		if !added && orgID < u {
			out, added = append(out, orgID), true
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, s.err(err)
	}
	if !added {
		out = append(out, orgID)
	}
	return out, nil
}
