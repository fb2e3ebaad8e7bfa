package metalsoft_test

import (
	"context"

	"github.com/cloudmeter/cloudmeter"
)

// ReservationsOverlapping: the fake store's users reserve nothing.
func (f *fakeStore) ReservationsOverlapping(context.Context, int64, int64, int64) ([]cloudmeter.Reservation, error) {
	return nil, nil
}
