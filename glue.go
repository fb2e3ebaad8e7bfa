package cloudmeter

import (
	"context"
	"log/slog"

	"github.com/cloudmeter/cloudmeter/money"
)

// The glue (DESIGN 1, point 5): cloudmeter pushes usage and interim billing into
// external billing systems in the marketplace format, through an outbox of deliveries
// kept in the database, and pulls utilization from MetalSoft- and Hyperstack-compatible
// endpoints into source-tagged records.

// Secret is a credential cloudmeter must keep and send but never show: an export's
// access token. Every way of printing it (fmt verbs, JSON, slog) gives "[redacted]";
// Reveal gives the value, for the one place that sends it.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret itself.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer without the value.
func (s Secret) String() string { return redacted }

// GoString implements fmt.GoStringer without the value.
func (s Secret) GoString() string { return redacted }

// LogValue implements slog.LogValuer without the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON writes "[redacted]".
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// DefaultExportSchedule is how often an export target gets a billing submission, in
// seconds, when none is set: hourly.
const DefaultExportSchedule int64 = 3600

// ExportTarget is an external billing system that cloudmeter pushes usage and interim
// billing to, in the marketplace partner format (seed 001), for a calendar month at a
// time.
type ExportTarget struct {
	// ID names the target (letters, digits, '-', '_', '.').
	ID string
	// URL is the billing system's base URL: submissions go to
	// URL/v1/installations/{ConfigurationID}/billing.
	URL string
	// ConfigurationID is the integrationConfigurationId of the installation.
	ConfigurationID string
	// Token is the installation's access token, sent as a Bearer token and never shown.
	Token Secret
	// Users are the users whose usage the target receives (at least one);
	// Infrastructures, when not empty, keeps only those infrastructures of theirs.
	Users           []int64
	Infrastructures []int64
	// Schedule is the time between two submissions, in seconds.
	Schedule int64
	// NextRunAt is when the next submission is due; OpenPeriod the month ("2026-12")
	// submitted to so far, which is closed (final billing, invoice, finalize) once a
	// round runs in a later month.
	NextRunAt  int64
	OpenPeriod string
	CreatedAt  int64
}

// DeliveryKind says what a delivery submits.
type DeliveryKind string

// The kinds of delivery, by the marketplace endpoint each is posted to.
const (
	DeliveryBilling  DeliveryKind = "billing"  // POST .../billing: usage and interim billing
	DeliveryInvoice  DeliveryKind = "invoice"  // POST .../billing/invoices: the month's invoice
	DeliveryFinalize DeliveryKind = "finalize" // POST .../billing/finalize: no body
)

// DeliveryState is where a delivery stands.
type DeliveryState string

// The states of a delivery.
const (
	DeliveryPending DeliveryState = "pending" // to be sent (again, at NextAttemptAt)
	DeliverySent    DeliveryState = "sent"    // the receiver accepted it
	DeliveryFailed  DeliveryState = "failed"  // the receiver refused it (a 4xx other than 429): not retried
)

// Delivery is one submission in the outbox: built once, with its timestamp, then sent
// byte for byte the same until the receiver accepts or refuses it.
type Delivery struct {
	TargetID string
	// Seq numbers the target's deliveries from 1; they are sent in this order.
	Seq    int64
	Kind   DeliveryKind
	Period string // the month, "2026-12"
	// Path is the request path under the target's URL; Body the request body (none for
	// finalize).
	Path          string
	Body          []byte
	CreatedAt     int64
	State         DeliveryState
	Attempts      int64
	NextAttemptAt int64
	// LastError says why the last attempt failed (never holds the token).
	LastError string
	SentAt    int64
}

// DeliveryOutcome is what became of one attempt to send a delivery.
type DeliveryOutcome struct {
	State DeliveryState
	// NextAttemptAt is when to try again, for a delivery left pending.
	NextAttemptAt int64
	Error         string
	At            int64
}

// ExportStatus is what an operator needs to know of one target's deliveries.
type ExportStatus struct {
	Target ExportTarget
	// LastSentAt is when a delivery was last accepted (0: never).
	LastSentAt int64
	// Sent, Failed and Pending count deliveries by state; OldestPendingAt is when the
	// oldest pending one was built (0: none pending).
	Sent, Failed, Pending int64
	OldestPendingAt       int64
	// LastFailure is the newest failed delivery, when there is one.
	LastFailure *Delivery
}

// DeliveryQuery selects deliveries.
type DeliveryQuery struct {
	TargetID string // empty: all targets
	State    DeliveryState
	Limit    int
}

// ExportStore keeps export targets and the outbox of their deliveries. Deliveries are
// claimed with a lease: a claimed delivery is not handed to another claimer before its
// lease ends, so with any number of instances on one database each delivery is sent by
// one of them at a time (PostgreSQL: FOR UPDATE SKIP LOCKED).
//
// Every method may return KindUnavailable when the database cannot be reached.
type ExportStore interface {
	// PutExportTarget creates a target or replaces the one with its ID (keeping that
	// one's deliveries and round).
	PutExportTarget(ctx context.Context, t ExportTarget) error
	// ExportTarget returns a target. Errors: KindNotFound.
	ExportTarget(ctx context.Context, id string) (ExportTarget, error)
	// ExportTargets lists the targets by ID.
	ExportTargets(ctx context.Context) ([]ExportTarget, error)
	// DeleteExportTarget deletes a target and its deliveries. Errors: KindNotFound.
	DeleteExportTarget(ctx context.Context, id string) error
	// EnqueueDeliveries appends ds to the target's outbox and sets its next run and open
	// period, only if its NextRunAt is still due (compare and set): it returns false, and
	// stores nothing, when another round took it first. Seq and State are assigned.
	EnqueueDeliveries(ctx context.Context, targetID string, due, next int64, openPeriod string, ds []Delivery) (bool, error)
	// ClaimDeliveries leases up to limit pending deliveries due at now to owner until
	// leaseUntil: for each target only its first pending delivery, and none whose lease
	// runs.
	ClaimDeliveries(ctx context.Context, owner string, now, leaseUntil int64, limit int) ([]Delivery, error)
	// FinishDelivery records the outcome of an attempt by the lease's owner; it returns
	// false, and records nothing, when owner no longer holds the lease.
	FinishDelivery(ctx context.Context, owner, targetID string, seq int64, o DeliveryOutcome) (bool, error)
	// ReleaseDelivery gives a lease back without an attempt (on shutdown).
	ReleaseDelivery(ctx context.Context, owner, targetID string, seq int64) error
	// Deliveries lists deliveries, newest first.
	Deliveries(ctx context.Context, q DeliveryQuery) ([]Delivery, error)
	// ExportStatuses returns every target's status, by ID.
	ExportStatuses(ctx context.Context) ([]ExportStatus, error)
}

// PulledRecord is one usage record imported from another system by a pull connector,
// kept as the source gave it: its quantity and its cost are the source's and are never
// priced again with the local price book. It shows in local reports and exports beside
// locally metered usage, in the report of the window that holds its Start.
type PulledRecord struct {
	// Source names where the record came from ("metalsoft https://...").
	Source              string
	UserID              int64
	InfrastructureID    int64
	InfrastructureLabel string
	Datacenter          string
	Type                ResourceType
	// Direction is set for traffic records (Type network or data_lake), empty otherwise.
	Direction  Direction
	ProductID  int64
	Label      string
	Subdomain  string
	Attributes Attributes
	Start, End int64
	// Quantity is billed seconds, or for traffic GB in 1e-4 units.
	Quantity          int64
	MeasurementPeriod int64
	CostPerUnit       money.Amount
	Cost              money.Amount
	Currency          string
}

// Traffic reports whether the record is a network report's waypoint record.
func (r *PulledRecord) Traffic() bool { return r.Direction != "" }

// PullWindow is one pull of a source for one user: the window asked for and what it
// brought.
type PullWindow struct {
	Source   string
	UserID   int64
	From, To int64
	PulledAt int64
	Records  int64
	Cost     money.Amount
}

// PulledQuery selects pulled records of one user whose Start lies in [From, To].
type PulledQuery struct {
	UserID            int64
	From, To          int64
	InfrastructureIDs []int64 // empty: all
	Datacenters       []string
	Limit             int // above 0: at most Limit+1 records are read
}

// PulledStore keeps the records pull connectors import, by window.
//
// Every method may return KindUnavailable when the database cannot be reached.
type PulledStore interface {
	// PutPullWindow stores the records of one window of a source and user. A window
	// already stored with the same bounds is replaced, in one transaction: pulling the
	// same window twice from an unchanged source changes nothing (changed is false).
	// The user is recorded as a known user, and the records' infrastructures as its own
	// unless it has them already.
	//
	// Errors: KindConflict when the window overlaps another stored window of the source
	// and user.
	PutPullWindow(ctx context.Context, w PullWindow, recs []PulledRecord) (changed bool, err error)
	// PullWindows lists a source's windows (all sources when source is empty) for a user
	// (all users when userID is 0), by source, user and start.
	PullWindows(ctx context.Context, source string, userID int64) ([]PullWindow, error)
	// PulledRecords returns the records q selects, by infrastructure, type, product,
	// direction and start.
	PulledRecords(ctx context.Context, q PulledQuery) ([]PulledRecord, error)
	// PulledTotals sums a source's records by product (cost, quantity), for connectors
	// that import cumulative totals as increments.
	PulledTotals(ctx context.Context, source string) (map[int64]PulledTotal, error)
}

// PulledTotal is the sum of a product's pulled records from one source.
type PulledTotal struct {
	Quantity int64
	Cost     money.Amount
	LastEnd  int64
}
