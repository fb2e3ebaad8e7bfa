package service

import (
	"context"
	"maps"
	"slices"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/pricebook"
)

// PublicPrices returns the entries of the price book in force that apply to every user
// (default and per-datacenter ones; never a user's own): those in force now or later,
// or with history every one, ended ones included. Any key may read them. With no book
// loaded, the list is empty and its Currency "".
//
// Errors: KindUnavailable only.
func (s *Service) PublicPrices(ctx context.Context, key cloudmeter.APIKey, history bool) (*PriceList, error) {
	return s.priceList(ctx, history, func(e *pricebook.Entry) bool { return e.UserID == nil })
}

// UserPrices returns the entries in force now or later that may price a user's usage:
// default, per-datacenter and the user's own (which win, DESIGN 2.2).
//
// Errors: KindForbidden unless the key is the user's, or holds prices_read or
// utilization_reports_read; KindInvalid for a user id not above 0; KindNotFound about
// SubjectUser for a user that owns nothing and has no key.
func (s *Service) UserPrices(ctx context.Context, key cloudmeter.APIKey, userID int64) (*PriceList, error) {
	if userID <= 0 {
		return nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "user: must be a user id above 0")
	}
	if !key.CanReadUser(userID) && !key.Has(cloudmeter.PermPricesRead) {
		return nil, cloudmeter.Errorf(cloudmeter.KindForbidden, "this API key may read only user %d's prices: reading user %d's needs the %s permission",
			key.UserID, userID, cloudmeter.PermPricesRead)
	}
	ok, err := s.store.UserExists(ctx, userID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, cloudmeter.Errorf(cloudmeter.KindNotFound, "user %d not found", userID).About(cloudmeter.SubjectUser)
	}
	return s.priceList(ctx, false, func(e *pricebook.Entry) bool { return e.UserID == nil || *e.UserID == userID })
}

func (s *Service) priceList(ctx context.Context, history bool, keep func(*pricebook.Entry) bool) (*PriceList, error) {
	now := s.Now()
	book, err := s.booksInForce(ctx)
	if err != nil {
		return nil, err
	}
	pl := &PriceList{Currency: book.Currency, Version: book.Version, Now: now, Entries: []*pricebook.Entry{}, Book: book}
	for _, e := range book.Entries {
		if (history || e.Until() > now) && keep(e) {
			pl.Entries = append(pl.Entries, e)
		}
	}
	return pl, nil
}

// booksInForce is the book in force, with no currency when none was loaded.
func (s *Service) booksInForce(ctx context.Context) (*pricebook.Book, error) {
	book, err := s.currentBook(ctx)
	if err != nil {
		return nil, err
	}
	if book.Version == 0 {
		return &pricebook.Book{}, nil
	}
	return book, nil
}

// ServerType is a server type known to cloudmeter: named by the price book in force, or
// only named by the server_type_id of its price entries (Name "").
type ServerType struct {
	pricebook.ServerType
	// Priced says whether an entry of the book prices it by its id.
	Priced bool
}

// ServerTypes lists the server types known to cloudmeter, by id: those the price book in
// force names (server_types) and those its entries price by server_type_id. Any key may
// read them.
//
// Errors: KindUnavailable only.
func (s *Service) ServerTypes(ctx context.Context, key cloudmeter.APIKey) ([]ServerType, error) {
	book, err := s.booksInForce(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[int64]*ServerType{}
	for _, st := range book.ServerTypes {
		byID[st.ID] = &ServerType{ServerType: st}
	}
	for _, e := range book.Entries {
		if e.ServerTypeID == nil || e.UserID != nil {
			continue
		}
		st := byID[*e.ServerTypeID]
		if st == nil {
			st = &ServerType{ServerType: pricebook.ServerType{ID: *e.ServerTypeID}}
			byID[st.ID] = st
		}
		st.Priced = true
	}
	out := make([]ServerType, 0, len(byID))
	for _, id := range slices.Sorted(maps.Keys(byID)) {
		out = append(out, *byID[id])
	}
	return out, nil
}

// ServerTypeByID returns one server type known to cloudmeter.
//
// Errors: KindInvalid for an id not above 0; KindNotFound when the price book in force
// neither names nor prices it.
func (s *Service) ServerTypeByID(ctx context.Context, key cloudmeter.APIKey, id int64) (ServerType, error) {
	if id <= 0 {
		return ServerType{}, cloudmeter.Errorf(cloudmeter.KindInvalid, "server_type_id: must be a whole number above 0")
	}
	all, err := s.ServerTypes(ctx, key)
	if err != nil {
		return ServerType{}, err
	}
	for _, st := range all {
		if st.ID == id {
			return st, nil
		}
	}
	return ServerType{}, cloudmeter.Errorf(cloudmeter.KindNotFound, "server type %d not found: the price book in force neither names it (server_types) nor prices it (server_type_id)", id)
}

// CheckDatacenter checks that a datacenter is known: some resource lives in it.
//
// Errors: KindInvalid for a name that is no text; KindNotFound about SubjectDatacenter.
func (s *Service) CheckDatacenter(ctx context.Context, name string) error {
	if err := cloudmeter.CheckText("datacenter_name", name, cloudmeter.MaxNameBytes); err != nil {
		return err
	}
	ok, err := s.store.DatacenterExists(ctx, name)
	if err != nil {
		return err
	}
	if !ok {
		return cloudmeter.Errorf(cloudmeter.KindNotFound, "datacenter %q not found", name).About(cloudmeter.SubjectDatacenter)
	}
	return nil
}
