package cloudmeter

// EventType names what happened to a resource.
type EventType string

// The event types of the ledger (DESIGN 2.5).
const (
	EventProvisioned    EventType = "cloudmeter.resource.provisioned"
	EventChanged        EventType = "cloudmeter.resource.changed"
	EventStopped        EventType = "cloudmeter.resource.stopped"
	EventStarted        EventType = "cloudmeter.resource.started"
	EventDeleted        EventType = "cloudmeter.resource.deleted"
	EventTrafficMetered EventType = "cloudmeter.traffic.metered"
)

// Known reports whether t is an event type cloudmeter understands.
func (t EventType) Known() bool {
	switch t {
	case EventProvisioned, EventChanged, EventStopped, EventStarted, EventDeleted, EventTrafficMetered:
		return true
	}
	return false
}

// Event is one entry of the ledger: a deployment operation or a traffic sample. (Source,
// ID) identifies it forever.
type Event struct {
	Source string
	ID     string
	Type   EventType
	// Time is when the operation took effect, in whole UTC seconds since the epoch.
	Time      int64
	ProductID int64
	// Subject is the CloudEvents subject attribute, "" when absent.
	Subject string
	// Provision is set for EventProvisioned.
	Provision *Provision
	// Attributes is set for EventProvisioned and EventChanged: the attributes the event
	// sets. Unset fields keep their previous value.
	Attributes Attributes
	// State is set for EventStopped ("stopped" or "hibernated") and EventStarted ("active").
	State State
	// Traffic is set for EventTrafficMetered.
	Traffic *TrafficSample
	// Data is the event's data object in canonical JSON, as stored.
	Data []byte
	// Digest identifies the event's content: two events with the same key and the same
	// digest are the same event.
	Digest string
}

// Provision is what a provisioned event says about the new resource.
type Provision struct {
	ResourceType        ResourceType
	UserID              int64
	InfrastructureID    int64
	InfrastructureLabel string
	Datacenter          string
	Label               string
	Subdomain           string
	ExcludeBilling      bool
}

// Attributes are the type attributes of a resource (DESIGN 2). A nil field is not set.
type Attributes struct {
	ServerTypeID          *int64  `json:"server_type_id,omitempty"`
	ServerTypeName        *string `json:"server_type_name,omitempty"`
	DriveSizeMBytes       *int64  `json:"drive_size_mbytes,omitempty"`
	SharedDriveSizeMBytes *int64  `json:"shared_drive_size_mbytes,omitempty"`
	StorageType           *string `json:"storage_type,omitempty"`
	SubnetType            *string `json:"subnet_type,omitempty"`
	SubnetPrefixSize      *int64  `json:"subnet_prefix_size,omitempty"`
	MeasurementPeriod     *int64  `json:"measurement_period,omitempty"`
	// StoredGBytes is what a data lake stores, in GB (1024^3 bytes).
	StoredGBytes *int64 `json:"stored_gbytes,omitempty"`
}

// Merge returns a with every field that b sets replaced by b's value.
func (a Attributes) Merge(b Attributes) Attributes {
	if b.ServerTypeID != nil {
		a.ServerTypeID = b.ServerTypeID
	}
	if b.ServerTypeName != nil {
		a.ServerTypeName = b.ServerTypeName
	}
	if b.DriveSizeMBytes != nil {
		a.DriveSizeMBytes = b.DriveSizeMBytes
	}
	if b.SharedDriveSizeMBytes != nil {
		a.SharedDriveSizeMBytes = b.SharedDriveSizeMBytes
	}
	if b.StorageType != nil {
		a.StorageType = b.StorageType
	}
	if b.SubnetType != nil {
		a.SubnetType = b.SubnetType
	}
	if b.SubnetPrefixSize != nil {
		a.SubnetPrefixSize = b.SubnetPrefixSize
	}
	if b.MeasurementPeriod != nil {
		a.MeasurementPeriod = b.MeasurementPeriod
	}
	if b.StoredGBytes != nil {
		a.StoredGBytes = b.StoredGBytes
	}
	return a
}

// ResourceType is the kind of a resource (MetalSoft "product" type).
type ResourceType string

// The resource types.
const (
	ResourceInstance    ResourceType = "instance"
	ResourceDrive       ResourceType = "drive"
	ResourceSharedDrive ResourceType = "shared_drive"
	ResourceSubnet      ResourceType = "subnet"
	ResourceNetwork     ResourceType = "network"
	ResourceDataLake    ResourceType = "data_lake"
)

// ResourceTypes lists every resource type in report order.
var ResourceTypes = []ResourceType{ResourceInstance, ResourceDrive, ResourceSharedDrive, ResourceSubnet, ResourceNetwork, ResourceDataLake}

// Known reports whether t is a resource type cloudmeter understands.
func (t ResourceType) Known() bool {
	for _, k := range ResourceTypes {
		if t == k {
			return true
		}
	}
	return false
}

// State is the power state of an instance. Other resources are always active.
type State string

// The power states.
const (
	StateActive     State = "active"
	StateStopped    State = "stopped"
	StateHibernated State = "hibernated"
)
