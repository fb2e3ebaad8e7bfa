package cloudmeter

import (
	"context"

	"github.com/cloudmeter/cloudmeter/money"
)

// Reservation is one reserved instance of a server type in a datacenter, for a cycle of
// months, paid in monthly installments (MetalSoft's ServerTypeReservation). While it is in
// force it covers, at each second, at most one running instance of its user with that
// server type in that datacenter; the covered seconds are billed at UtilizationPrice
// instead of the price book's (package reservation says which instances are covered).
// Its amounts are in the currency of the price book.
type Reservation struct {
	ID     int64
	UserID int64
	// ServerTypeID and Datacenter say which instances it covers; ServerTypeName is shown
	// with its installments ("" when none was given).
	ServerTypeID   int64
	ServerTypeName string
	Datacenter     string
	// Price is one monthly installment.
	Price money.Amount
	// UtilizationPrice is what an hour (3600 seconds) of a covered instance costs; 0 by
	// default: the installments pay for everything.
	UtilizationPrice money.Amount
	// CycleMonths is how many monthly installments the reservation has.
	CycleMonths int
	CreatedAt   int64
	// Start is the first second in force; End the last one (Start plus CycleMonths months,
	// minus one second).
	Start, End int64
}

// ReservationStore keeps server type reservations. Ids are assigned by the store, unique
// across users. Reservations are never edited.
//
// Every method may return KindUnavailable when the database cannot be reached.
type ReservationStore interface {
	// CreateReservations stores quantity reservations like r (its ID ignored), each with a
	// new id, in one transaction, and returns them in id order.
	CreateReservations(ctx context.Context, r Reservation, quantity int) ([]Reservation, error)
	// Reservation returns one reservation. Errors: KindNotFound.
	Reservation(ctx context.Context, id int64) (Reservation, error)
	// UserReservations returns a user's reservations in id order.
	UserReservations(ctx context.Context, userID int64) ([]Reservation, error)
	// ReservationsOverlapping returns a user's reservations in force at some second of
	// [from, to], in id order.
	ReservationsOverlapping(ctx context.Context, userID, from, to int64) ([]Reservation, error)
	// ProvisionedAt returns the first billed second of each named product that was
	// provisioned (products without a provision are left out): what coverage ranks
	// instances by.
	ProvisionedAt(ctx context.Context, productIDs []int64) (map[int64]int64, error)
}
