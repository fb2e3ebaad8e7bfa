package cloudmeter

// Direction is one way of a waypoint's traffic.
type Direction string

// The directions, in report order.
const (
	DirectionDownload Direction = "download"
	DirectionUpload   Direction = "upload"
)

// Directions lists the directions in report order.
var Directions = []Direction{DirectionDownload, DirectionUpload}

// DefaultMeasurementPeriod is the measurement period of a waypoint whose events name none.
const DefaultMeasurementPeriod int64 = 3600

// Waypoint reports whether resources of type t meter traffic.
func (t ResourceType) Waypoint() bool { return t == ResourceNetwork || t == ResourceDataLake }

// TrafficSample is what a cloudmeter.traffic.metered event says: the bytes a waypoint
// moved in one direction, as a delta or as a cumulative counter reading.
type TrafficSample struct {
	Direction Direction
	// Counter says Value is a cumulative counter reading; otherwise Value is a delta.
	Counter bool
	Value   int64
}

// TrafficQuery asks for the metered traffic of a user's waypoints, grouped by
// measurement period: the periods that start within [From, To], split at Cuts.
type TrafficQuery struct {
	UserID   int64
	From, To int64
	// Cuts are ascending seconds inside (From, To]; a period that starts at or after
	// Cuts[i-1] and before Cuts[i] is summed in piece i (piece 0 is before Cuts[0]).
	Cuts []int64
}

// TrafficSum is the traffic of one waypoint in one direction in one piece of a
// TrafficQuery.
type TrafficSum struct {
	ProductID int64
	Direction Direction
	Piece     int
	Bytes     int64
}

// TrafficPeriod is the traffic of one waypoint in one direction over one measurement
// period, the unit traffic is stored and priced by.
type TrafficPeriod struct {
	ProductID int64
	Direction Direction
	Start     int64 // the period's first second
	Bytes     int64
	Samples   int64
}

// TrafficSeriesQuery asks for one waypoint's traffic by time bucket.
type TrafficSeriesQuery struct {
	ProductID int64
	From, To  int64 // closed window of sample times
	Bucket    int64 // seconds per bucket; buckets are aligned to the epoch (UTC)
}

// TrafficPoint is the traffic of one bucket of a TrafficSeriesQuery.
type TrafficPoint struct {
	Start    int64
	Download int64
	Upload   int64
	Samples  int64
}

// UnbilledTraffic is traffic stored for a product that is not a provisioned waypoint: a
// product never provisioned (yet), or a resource of a type that meters no traffic. It is
// kept, and shown as an anomaly, never billed and never dropped.
type UnbilledTraffic struct {
	ProductID int64
	UserID    int64        // the resource's user; 0 when the product was never provisioned
	Type      ResourceType // "" when the product was never provisioned
	Samples   int64
	// First and Last are the times of the earliest and latest sample.
	First, Last int64
}
