package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/cloudmeter/cloudmeter"
)

const reservationColumns = `user_id, reservation_id, server_type_id, server_type_name, datacenter, price, utilization_price, cycle_months,
	created_at, starts_at, ends_at`

func scanReservation(sc interface{ Scan(...any) error }) (cloudmeter.Reservation, error) {
	var r cloudmeter.Reservation
	var cycle int64
	err := sc.Scan(&r.UserID, &r.ID, &r.ServerTypeID, &r.ServerTypeName, &r.Datacenter, &r.Price, &r.UtilizationPrice, &cycle,
		&r.CreatedAt, &r.Start, &r.End)
	r.CycleMonths = int(cycle)
	return r, err
}

// CreateReservations stores quantity reservations like r in one transaction. Their ids
// are taken from the reservation counter by one upsert, whose row lock (PostgreSQL) or
// the database's write lock (SQLite) makes concurrent creations queue; the user becomes
// known, as an owner of resources does.
func (s *Store) CreateReservations(ctx context.Context, r cloudmeter.Reservation, quantity int) ([]cloudmeter.Reservation, error) {
	if quantity < 1 {
		return nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "quantity: %d must be 1 or more", quantity)
	}
	out, err := s.createReservations(ctx, r, quantity)
	return out, s.err(err)
}

func (s *Store) createReservations(ctx context.Context, r cloudmeter.Reservation, quantity int) ([]cloudmeter.Reservation, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var last int64
	if err := tx.QueryRowContext(ctx, s.rb(`INSERT INTO store_counters (name, value) VALUES ('reservation', ?)
		ON CONFLICT (name) DO UPDATE SET value = store_counters.value + excluded.value RETURNING value`), quantity).Scan(&last); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, s.rb(`INSERT INTO users (user_id) VALUES (?) ON CONFLICT (user_id) DO NOTHING`), r.UserID); err != nil {
		return nil, err
	}
	out := make([]cloudmeter.Reservation, quantity)
	for i := range out {
		out[i] = r
		out[i].ID = last - int64(quantity) + 1 + int64(i)
		if _, err := tx.ExecContext(ctx, s.rb(`INSERT INTO reservations (`+reservationColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			r.UserID, out[i].ID, r.ServerTypeID, r.ServerTypeName, r.Datacenter, int64(r.Price), int64(r.UtilizationPrice), int64(r.CycleMonths),
			r.CreatedAt, r.Start, r.End); err != nil {
			return nil, err
		}
	}
	return out, tx.Commit()
}

// Reservation returns one reservation.
func (s *Store) Reservation(ctx context.Context, id int64) (cloudmeter.Reservation, error) {
	r, err := scanReservation(s.db.QueryRowContext(ctx, s.rb(`SELECT `+reservationColumns+` FROM reservations WHERE reservation_id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, cloudmeter.Errorf(cloudmeter.KindNotFound, "server type reservation %d not found", id)
	}
	return r, s.err(err)
}

// UserReservations returns a user's reservations in id order.
func (s *Store) UserReservations(ctx context.Context, userID int64) ([]cloudmeter.Reservation, error) {
	return s.reservations(ctx, `SELECT `+reservationColumns+` FROM reservations WHERE user_id = ? ORDER BY reservation_id`, userID)
}

// ReservationsOverlapping returns a user's reservations in force at some second of
// [from, to], in id order.
func (s *Store) ReservationsOverlapping(ctx context.Context, userID, from, to int64) ([]cloudmeter.Reservation, error) {
	return s.reservations(ctx, `SELECT `+reservationColumns+` FROM reservations WHERE user_id = ? AND starts_at <= ? AND ends_at >= ?
		ORDER BY reservation_id`, userID, to, from)
}

func (s *Store) reservations(ctx context.Context, q string, args ...any) ([]cloudmeter.Reservation, error) {
	rows, err := s.db.QueryContext(ctx, s.rb(q), args...)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	var out []cloudmeter.Reservation
	for rows.Next() {
		r, err := scanReservation(rows)
		if err != nil {
			return nil, s.err(err)
		}
		out = append(out, r)
	}
	return out, s.err(rows.Err())
}

// provisionedChunk bounds the ids of one ProvisionedAt query.
const provisionedChunk = 500

// ProvisionedAt returns the first billed second of each named provisioned product, from
// the products' current views (one index seek each, whatever their history).
func (s *Store) ProvisionedAt(ctx context.Context, productIDs []int64) (map[int64]int64, error) {
	out := make(map[int64]int64, len(productIDs))
	for len(productIDs) > 0 {
		n := min(len(productIDs), provisionedChunk)
		args := make([]any, n)
		for i, id := range productIDs[:n] {
			args[i] = id
		}
		rows, err := s.db.QueryContext(ctx, s.rb(`SELECT product_id, provisioned_at FROM resources WHERE product_id IN `+inList(n)), args...)
		if err != nil {
			return nil, s.err(err)
		}
		for rows.Next() {
			var id, at int64
			if err := rows.Scan(&id, &at); err != nil {
				rows.Close()
				return nil, s.err(err)
			}
			out[id] = at
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, s.err(err)
		}
		productIDs = productIDs[n:]
	}
	return out, nil
}
