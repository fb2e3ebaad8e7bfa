package cloudmeter

// Resource is the current view of a resource, derived from its events by rating.
type Resource struct {
	ProductID           int64
	UserID              int64
	InfrastructureID    int64
	InfrastructureLabel string
	Datacenter          string
	Type                ResourceType
	Label               string
	Subdomain           string
	ExcludeBilling      bool
	Attributes          Attributes
	State               State
	// ProvisionedAt is the first billed second; DeletedAt the last one, or 0 while the
	// resource lives.
	ProvisionedAt int64
	DeletedAt     int64
}

// Span is a stretch of a resource's life over which nothing that affects its price
// changed: closed whole-second interval [Start, End]. End is OpenEnd while the resource
// still lives. A span carries everything a report needs about the resource, so reports
// read spans alone.
type Span struct {
	UserID           int64
	ProductID        int64
	InfrastructureID int64
	Datacenter       string
	Type             ResourceType
	Label            string
	Subdomain        string
	ExcludeBilling   bool
	State            State
	Attributes       Attributes
	Start            int64
	End              int64
}

// OpenEnd marks the End of a span whose resource has not been deleted.
const OpenEnd int64 = 1<<62 - 1

// Infrastructure groups the resources of one user.
type Infrastructure struct {
	ID            int64
	UserID        int64
	Label         string
	Datacenter    string
	ServiceStatus string
}

// AnomalyKind names a kind of impossible or unbillable history.
type AnomalyKind string

// The anomaly kinds. Each is documented with the rule rating applies (docs/rating.md).
const (
	AnomalyNotProvisioned     AnomalyKind = "not_provisioned"     // events for a product that was never provisioned: nothing billed
	AnomalyDuplicateProvision AnomalyKind = "duplicate_provision" // a second provisioned event: the earliest wins
	AnomalyBeforeProvision    AnomalyKind = "before_provision"    // an event before the provision: ignored
	AnomalyAfterDelete        AnomalyKind = "after_delete"        // an event after the delete: ignored
	AnomalyDuplicateDelete    AnomalyKind = "duplicate_delete"    // a second delete: the earliest wins
	AnomalyRedundantPower     AnomalyKind = "redundant_power"     // stop while stopped or start while active: ignored
	AnomalyNotApplicable      AnomalyKind = "not_applicable"      // an event or attribute that does not apply to the resource type: ignored
	AnomalyUnpriced           AnomalyKind = "unpriced"            // usage no price book entry prices: reported at cost 0
)

// Anomaly is an impossible or unbillable part of a resource's history, stored and shown
// so that nothing is dropped silently.
type Anomaly struct {
	ProductID int64
	UserID    int64 // 0 when the product was never provisioned
	Kind      AnomalyKind
	Message   string
	// EventSource and EventID name the event concerned, when there is one.
	EventSource string
	EventID     string
	Time        int64
}
