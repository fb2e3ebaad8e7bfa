package cloudmeter

import "context"

// Rating is what rating derives from one product's events: its current view (nil when
// it was never provisioned), its usage spans and its anomalies.
type Rating struct {
	ProductID int64
	Resource  *Resource
	Spans     []Span
	Anomalies []Anomaly
}

// RateFunc rates one product from the set of all its events (in any order).
type RateFunc func(productID int64, events []Event) Rating

// AppendResult says what became of a batch of events.
type AppendResult struct {
	Accepted   int
	Duplicates int
	// Conflicts lists events whose (source, id) is already stored with other content.
	// When it is not empty, nothing of the batch was stored.
	Conflicts []EventConflict
	// Rated lists the products that were re-rated, in ascending order.
	Rated []int64
}

// EventConflict names an event of a batch whose key is known with other content.
type EventConflict struct {
	Index  int    `json:"index"`
	Source string `json:"source"`
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// SpanQuery selects the spans of one user that overlap a closed window.
type SpanQuery struct {
	UserID            int64
	From, To          int64
	InfrastructureIDs []int64 // empty: all
	Datacenters       []string
	// MaxSpans, when above 0, bounds the work: a query that would return more spans
	// fails with KindTooLarge as soon as it has read one more.
	MaxSpans int
}

// AnomalyQuery selects stored anomalies.
type AnomalyQuery struct {
	UserID    int64 // 0: all users
	ProductID int64 // 0: all products
	Limit     int
}

// StoredPriceBook is one version of the price book as kept by the store.
type StoredPriceBook struct {
	Version   int64
	Body      []byte // the book in its native JSON format
	CreatedAt int64
}

// Store is the storage of cloudmeter: every role below, plus Ping and Close. Every
// engine implements it with the same behaviour; the shared test suite (package
// storetest) holds them to it, role by role. A new feature that needs storage adds a
// role (a small interface embedded here) rather than growing one list of methods.
//
// Every method may return KindUnavailable when the database cannot be reached.
type Store interface {
	EventLedger
	UsageStore
	PriceBookStore
	KeyStore
	SigningKeyStore
	TrafficStore
	OrganizationStore
	CreditStore
	ExportStore
	PulledStore
	InstallationStore
	ReservationStore

	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the store.
	Close() error
}

// EventLedger is the append-only record of events and the ratings kept from it: it
// stores batches of events once each, atomically, and re-rates the products they touch.
//
// Every method may return KindUnavailable when the database cannot be reached.
type EventLedger interface {
	// AppendEvents stores a batch of events atomically and re-rates the products it
	// touches, with rate, in the same transaction. Events already stored with the same
	// digest are counted as duplicates and not applied again. If any event's key is
	// stored with another digest, or appears twice in the batch with different
	// digests, nothing is stored and the conflicts are returned.
	//
	// With rating.Rate (what the service passes) a store may rate incrementally, with
	// rating.Resume: from each product's stored rating state, or for a late event from
	// a point before it, without reading the product's history; the result is what
	// rating.Rate gives over all the product's events. Any other rate function rates
	// each touched product from all its events.
	AppendEvents(ctx context.Context, events []Event, rate RateFunc) (AppendResult, error)
	// ProductEvents returns every stored event of a product, traffic samples included.
	ProductEvents(ctx context.Context, productID int64) ([]Event, error)
	// Rerate rates every stored product again with rate and returns how many it rated.
	Rerate(ctx context.Context, rate RateFunc) (int, error)
}

// UsageStore reads what rating stored: usage spans, products' current views, users'
// infrastructures and anomalies, for reports, invoices and lookups.
//
// Every method may return KindUnavailable when the database cannot be reached.
type UsageStore interface {
	// Spans returns the spans of q.UserID that overlap [q.From, q.To], ordered by
	// infrastructure, type, product and start.
	Spans(ctx context.Context, q SpanQuery) ([]Span, error)
	// AllSpans calls fn for every span of every user (or of one user when userID > 0).
	AllSpans(ctx context.Context, userID int64, fn func(Span) error) error
	// Resource returns a product's current view and spans. Errors: KindNotFound.
	Resource(ctx context.Context, productID int64) (Resource, []Span, error)
	// Infrastructures returns the infrastructures of a user, by id.
	Infrastructures(ctx context.Context, userID int64) ([]Infrastructure, error)
	// UserExists reports whether a user owns resources or keys.
	UserExists(ctx context.Context, userID int64) (bool, error)
	// DatacenterExists reports whether any resource lives in the named datacenter.
	DatacenterExists(ctx context.Context, name string) (bool, error)
	// Anomalies returns stored anomalies, newest product first.
	Anomalies(ctx context.Context, q AnomalyQuery) ([]Anomaly, error)
}

// PriceBookStore keeps the versions of the price book: each put adds a version, and
// the newest one is the book in force.
//
// Every method may return KindUnavailable when the database cannot be reached.
type PriceBookStore interface {
	// PutPriceBook stores a new version of the price book and returns it.
	PutPriceBook(ctx context.Context, body []byte, now int64) (StoredPriceBook, error)
	// PriceBook returns the newest price book version. Errors: KindNotFound when none.
	PriceBook(ctx context.Context) (StoredPriceBook, error)
	// PriceBookVersion returns the newest version number, 0 when there is none.
	PriceBookVersion(ctx context.Context) (int64, error)
	// PriceBookVersions lists the versions kept, newest first, without bodies.
	PriceBookVersions(ctx context.Context) ([]StoredPriceBook, error)
	// PriceBookAt returns one version with its body. Errors: KindNotFound when not kept.
	PriceBookAt(ctx context.Context, version int64) (StoredPriceBook, error)
}

// KeyStore keeps the API keys that authenticate callers, each found by the hash of the
// key (the key itself is never stored).
//
// Every method may return KindUnavailable when the database cannot be reached.
type KeyStore interface {
	// CreateKey stores a new key. Errors: KindConflict when its ID or hash is taken.
	CreateKey(ctx context.Context, k APIKey) error
	// KeyByHash returns the live key with the given hash. Errors: KindNotFound about SubjectAPIKey.
	KeyByHash(ctx context.Context, hash string) (APIKey, error)
	// Keys lists all keys, revoked ones included.
	Keys(ctx context.Context) ([]APIKey, error)
	// RevokeKey revokes a key. Errors: KindNotFound.
	RevokeKey(ctx context.Context, id string, now int64) error
}

// TrafficStore reads the metered traffic of waypoints: billed totals by measurement
// period, sums for invoices, series for charts, and samples that nothing bills.
//
// Every method may return KindUnavailable when the database cannot be reached.
type TrafficStore interface {
	// TrafficSums sums the billed traffic of a user's waypoints by direction over the
	// measurement periods that start within [q.From, q.To], split at q.Cuts.
	TrafficSums(ctx context.Context, q TrafficQuery) ([]TrafficSum, error)
	// TrafficPeriods returns the billed traffic of one waypoint per direction and
	// measurement period, ordered by direction and period start.
	TrafficPeriods(ctx context.Context, productID int64) ([]TrafficPeriod, error)
	// TrafficSeries sums one waypoint's samples by bucket of their own time, ordered by
	// bucket; buckets without samples are left out.
	TrafficSeries(ctx context.Context, q TrafficSeriesQuery) ([]TrafficPoint, error)
	// UnbilledTraffic lists, by product, the traffic samples of products that are not
	// provisioned waypoints, of one user (userID > 0: only products provisioned for that
	// user) or of all.
	UnbilledTraffic(ctx context.Context, userID int64) ([]UnbilledTraffic, error)
}

// OrganizationStore keeps which organization each user belongs to. A user belongs to its
// own organization (whose id is the user's id) unless it was put in another; only those
// are stored, so the default costs nothing.
//
// Every method may return KindUnavailable when the database cannot be reached.
type OrganizationStore interface {
	// SetOrganization puts a user in an organization from now on; orgID == userID puts it
	// back in its own. Both ids are above 0.
	SetOrganization(ctx context.Context, userID, orgID, now int64) error
	// OrganizationOf returns the organization of a user: the one it was put in, else its
	// own id.
	OrganizationOf(ctx context.Context, userID int64) (int64, error)
	// OrganizationUsers returns the users of an organization, ascending: those put in it,
	// and the user whose id it is unless that user was put in another. It does not say
	// whether those users own anything (see UsageStore.UserExists).
	OrganizationUsers(ctx context.Context, orgID int64) ([]int64, error)
}

// CreditStore keeps the prepaid credit of organizations: one account each (the sum of
// its top-ups, a threshold, when its spend starts) and the audit of every top-up, which
// is appended to and never edited. What an organization spent is not stored: it is
// computed from the ledger when read.
//
// Every method may return KindUnavailable when the database cannot be reached.
type CreditStore interface {
	// TopUp appends t to its organization's audit and adds t.Amount to its balance, in one
	// transaction (the first top-up opens the account); t.Seq is assigned. It returns the
	// stored top-up and the account after it. Concurrent top-ups of one organization are
	// all kept, each with its own Seq.
	//
	// Errors: KindInvalid when t.Amount is not above 0 or the balance would not fit the
	// money type.
	TopUp(ctx context.Context, t CreditTopUp) (CreditTopUp, CreditAccount, error)
	// SetCreditSettings sets the threshold and spend start of an organization's account
	// (opening it when there is none) and returns the account.
	SetCreditSettings(ctx context.Context, orgID int64, s CreditSettings) (CreditAccount, error)
	// CreditAccount returns an organization's account. Errors: KindNotFound when it has
	// none (it was never topped up and has no settings).
	CreditAccount(ctx context.Context, orgID int64) (CreditAccount, error)
	// CreditTopUps returns an organization's top-ups in Seq order (none: an empty list).
	CreditTopUps(ctx context.Context, orgID int64) ([]CreditTopUp, error)
}
