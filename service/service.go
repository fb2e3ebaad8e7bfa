// Package service is cloudmeter's application layer: ingest, price book, reports, keys
// and anomalies, with their permission checks. Every API surface (native REST, the
// MetalSoft-compatible JSON-RPC, the CLI) is a thin adapter over it. It speaks to the
// database only through cloudmeter.Store and imports no HTTP code.
package service

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/internal/keyseal"
	"github.com/cloudmeter/cloudmeter/pricebook"
	"github.com/cloudmeter/cloudmeter/rating"
)

// Limits bounds what one request may ask for.
type Limits struct {
	// MaxReportYears is the longest report window, in calendar years (MetalSoft: 5).
	MaxReportYears int
	// MaxReportRecords bounds the usage records of one report, and so its memory and
	// time: a report that would hold more is refused as soon as it is known to.
	MaxReportRecords int
}

// DefaultLimits are the limits used when none are configured.
var DefaultLimits = Limits{MaxReportYears: 5, MaxReportRecords: 500_000}

// Service is the application layer over one Store.
type Service struct {
	store  cloudmeter.Store
	now    func() time.Time
	limits Limits
	log    *slog.Logger
	sealer *keyseal.Sealer // nil: no server secret, so no signing keys

	mu   sync.Mutex
	book *pricebook.Book // the newest price book seen, cached by version
}

// Options configure a Service.
type Options struct {
	// Now is the clock; time.Now when nil. One now is pinned per request.
	Now    func() time.Time
	Limits Limits
	Logger *slog.Logger
	// Sealer seals the secrets of signing keys under the server secret (--secret-file);
	// nil means none was given: signing keys can be neither made nor verified.
	Sealer *keyseal.Sealer
}

// New returns a Service over store.
func New(store cloudmeter.Store, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Limits.MaxReportYears == 0 {
		o.Limits.MaxReportYears = DefaultLimits.MaxReportYears
	}
	if o.Limits.MaxReportRecords == 0 {
		o.Limits.MaxReportRecords = DefaultLimits.MaxReportRecords
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Service{store: store, now: o.Now, limits: o.Limits, log: o.Logger, sealer: o.Sealer}
}

// Store returns the underlying store.
func (s *Service) Store() cloudmeter.Store { return s.store }

// Now returns the service clock's current second.
func (s *Service) Now() int64 { return s.now().Unix() }

// Ingest stores a batch of decoded events and re-rates the products they touch.
//
// Errors: KindForbidden without events_write; KindConflict (Details: the conflicts)
// when a key is known with other content, in which case nothing is stored.
func (s *Service) Ingest(ctx context.Context, key cloudmeter.APIKey, events []cloudmeter.Event) (cloudmeter.AppendResult, error) {
	if err := key.Require(cloudmeter.PermEventsWrite); err != nil {
		return cloudmeter.AppendResult{}, err
	}
	res, err := s.store.AppendEvents(ctx, events, rating.Rate)
	if err != nil {
		return res, err
	}
	if len(res.Conflicts) > 0 {
		return res, &cloudmeter.Error{Kind: cloudmeter.KindConflict, Details: res.Conflicts,
			Message: conflictMessage(res.Conflicts)}
	}
	return res, nil
}

func conflictMessage(cs []cloudmeter.EventConflict) string {
	c := cs[0]
	more := ""
	if len(cs) > 1 {
		more = fmt.Sprintf(" (and %d more)", len(cs)-1)
	}
	return fmt.Sprintf("events[%d] (source %s, id %s): %s%s; nothing of the batch was stored", c.Index, c.Source, c.ID, c.Reason, more)
}

// Rerate rates every stored product again (after an upgrade of the rating rules).
//
// Errors: KindForbidden when the caller is not an admin.
func (s *Service) Rerate(ctx context.Context, caller cloudmeter.APIKey) (int, error) {
	if err := caller.Require(cloudmeter.PermAdmin); err != nil {
		return 0, err
	}
	return s.store.Rerate(ctx, rating.Rate)
}

// currentBook returns the price book in force, parsed once per version.
func (s *Service) currentBook(ctx context.Context) (*pricebook.Book, error) {
	v, err := s.store.PriceBookVersion(ctx)
	if err != nil {
		return nil, err
	}
	if v == 0 {
		return pricebook.Empty, nil
	}
	s.mu.Lock()
	b := s.book
	s.mu.Unlock()
	if b != nil && b.Version == v {
		return b, nil
	}
	stored, err := s.store.PriceBook(ctx)
	if err != nil {
		return nil, err
	}
	b, err = pricebook.Parse(stored.Body)
	if err != nil {
		return nil, cloudmeter.Internal(err)
	}
	b.Version = stored.Version
	s.mu.Lock()
	if s.book == nil || s.book.Version < b.Version {
		s.book = b
	}
	s.mu.Unlock()
	return b, nil
}

// PutPrices validates a price book in the native format and stores it as the new
// version. Reports use it at once: usage is priced when it is reported, so a change
// re-rates exactly what it touches. A book that would leave unpriced usage that the book
// in force prices (an empty book included) is refused, saying what, and nothing is
// changed: PutPricesForced stores it all the same.
//
// Errors: KindForbidden without prices_write; KindInvalid naming each broken rule;
// KindConflict (Details: []UnpricedDetail) for a book that would leave usage unpriced.
func (s *Service) PutPrices(ctx context.Context, key cloudmeter.APIKey, body []byte) (*pricebook.Book, error) {
	return s.putPrices(ctx, key, body, false)
}

// PutPricesForced is PutPrices without the check of what would become unpriced.
func (s *Service) PutPricesForced(ctx context.Context, key cloudmeter.APIKey, body []byte) (*pricebook.Book, error) {
	return s.putPrices(ctx, key, body, true)
}

func (s *Service) putPrices(ctx context.Context, key cloudmeter.APIKey, body []byte, force bool) (*pricebook.Book, error) {
	if err := key.Require(cloudmeter.PermPricesWrite); err != nil {
		return nil, err
	}
	b, err := pricebook.Parse(body)
	if err != nil {
		return nil, err
	}
	if !force {
		// With no book in force nothing is priced, so nothing can become unpriced.
		v, err := s.store.PriceBookVersion(ctx)
		if err != nil {
			return nil, err
		}
		if v > 0 {
			r, err := s.review(ctx, b)
			if err != nil {
				return nil, err
			}
			if err := r.Refusal(); err != nil {
				return nil, err
			}
		}
	}
	stored, err := s.store.PutPriceBook(ctx, b.JSON(), s.Now())
	if err != nil {
		return nil, err
	}
	b.Version = stored.Version
	return b, nil
}

// Prices returns the price book in force.
//
// Errors: KindForbidden without prices_read; KindNotFound when none was loaded.
func (s *Service) Prices(ctx context.Context, key cloudmeter.APIKey) (cloudmeter.StoredPriceBook, error) {
	if err := key.Require(cloudmeter.PermPricesRead); err != nil {
		return cloudmeter.StoredPriceBook{}, err
	}
	return s.store.PriceBook(ctx)
}
