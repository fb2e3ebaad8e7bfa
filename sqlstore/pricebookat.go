package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/cloudmeter/cloudmeter"
)

// PriceBookAt returns one kept version of the price book with its body.
func (s *Store) PriceBookAt(ctx context.Context, version int64) (cloudmeter.StoredPriceBook, error) {
	b := cloudmeter.StoredPriceBook{Version: version}
	var body string
	err := s.db.QueryRowContext(ctx, s.rb(`SELECT body, created_at FROM price_books WHERE version = ?`), version).Scan(&body, &b.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return cloudmeter.StoredPriceBook{}, cloudmeter.Errorf(cloudmeter.KindNotFound, "price book version %d not found", version)
	}
	if err != nil {
		return cloudmeter.StoredPriceBook{}, s.err(err)
	}
	b.Body = []byte(body)
	return b, nil
}
