package service

import (
	"context"

	"github.com/cloudmeter/cloudmeter"
)

// PriceBookVersions lists the kept versions of the price book, newest first, without
// their bodies.
//
// Errors: KindForbidden without prices_read.
func (s *Service) PriceBookVersions(ctx context.Context, key cloudmeter.APIKey) ([]cloudmeter.StoredPriceBook, error) {
	if err := key.Require(cloudmeter.PermPricesRead); err != nil {
		return nil, err
	}
	return s.store.PriceBookVersions(ctx)
}

// PriceBookAt returns one kept version of the price book with its body.
//
// Errors: KindForbidden without prices_read; KindNotFound for a version not kept.
func (s *Service) PriceBookAt(ctx context.Context, key cloudmeter.APIKey, version int64) (cloudmeter.StoredPriceBook, error) {
	if err := key.Require(cloudmeter.PermPricesRead); err != nil {
		return cloudmeter.StoredPriceBook{}, err
	}
	return s.store.PriceBookAt(ctx, version)
}
