package demo

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/cloudmeter/cloudmeter"
)

// Month is the first second of the generated demo month, December 2024: the window of
// the MetalSoft seed's own request (2023-12-31T23:59:59Z to 2024-12-31T23:59:59Z for
// user 1) covers it, so that request returns data from a demo data directory.
var Month = time.Date(2024, 12, 1, 0, 0, 0, 0, time.UTC)

// FirstProductID is the first product id of generated resources; the seed example uses
// 779, 2416, 3727 and 6378, so generated ids never collide with it.
const FirstProductID = 100000

// BatchSize is how many events Generate and Cloud put in one batch.
const BatchSize = 1000

// Datacenters are the datacenters of the generated infrastructures.
var Datacenters = []string{"uk-reading", "us-santaclara"}

// ServerType is an instance type of the demo cloud.
type ServerType struct {
	ID   int64
	Name string
	// Price is the instance price per hour in the demo price book.
	Price string
}

// ServerTypes are the server types of generated instances (ids 1 to 4).
var ServerTypes = []ServerType{
	{1, "M.8.32.1", "0.14"},
	{2, "M.16.64.2", "0.31"},
	{3, "M.32.128.4", "0.62"},
	{4, "G.32.256.2.A100", "2.40"},
}

// Batch is a JSON array of CloudEvents, ready to be decoded by ledger.DecodeBatch or
// posted as application/cloudevents-batch+json.
type Batch struct {
	JSON   []byte
	Events int
}

// Options shape a generated cloud.
type Options struct {
	// Seed makes the cloud: the same options give byte-identical events.
	Seed int64
	// Resources is how many resources to generate.
	Resources int
	// From is the first second of the month the history covers (truncated to seconds).
	// Some resources are provisioned up to 45 days before it; every other event falls
	// inside the month.
	From time.Time
	// Users is how many users own the resources: 1 to 5 (0 means 5). User 1 owns the
	// most.
	Users int
}

// Generate returns the demo cloud: resources resources of users 1 to 5 (user 1 owns the
// most, each user has 2 to 4 infrastructures in uk-reading and us-santaclara) over the
// month starting at from, as time-ordered batches of BatchSize events. The same seed
// gives the same cloud.
func Generate(seed int64, resources int, from time.Time) []Batch {
	return Batches(Events(Options{Seed: seed, Resources: resources, From: from}), BatchSize)
}

// Cloud returns n resources of one user (user 1) with a month of history from from, in
// batches of BatchSize events: the shape the benchmarks ingest and report on.
func Cloud(seed int64, n int, from time.Time) []Batch {
	return Batches(Events(Options{Seed: seed, Resources: n, From: from, Users: 1}), BatchSize)
}

// Batches splits events (JSON objects) into JSON arrays of at most size events.
func Batches(events []json.RawMessage, size int) []Batch {
	if size <= 0 {
		size = BatchSize
	}
	var out []Batch
	for start := 0; start < len(events); start += size {
		part := events[start:min(start+size, len(events))]
		n := 2
		for _, e := range part {
			n += len(e) + 1
		}
		b := make([]byte, 0, n)
		b = append(b, '[')
		for i, e := range part {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, e...)
		}
		b = append(b, ']')
		out = append(out, Batch{JSON: b, Events: len(part)})
	}
	return out
}

// genEvent is a generated event before encoding.
type genEvent struct {
	time    int64
	product int64
	seq     int
	source  string
	typ     cloudmeter.EventType
	data    any
}

type provisionData struct {
	ProductID           int64                   `json:"product_id"`
	ResourceType        cloudmeter.ResourceType `json:"resource_type"`
	UserID              int64                   `json:"user_id"`
	InfrastructureID    int64                   `json:"infrastructure_id"`
	InfrastructureLabel string                  `json:"infrastructure_label"`
	Datacenter          string                  `json:"datacenter"`
	Label               string                  `json:"label"`
	Subdomain           string                  `json:"subdomain"`
	Attributes          cloudmeter.Attributes   `json:"attributes"`
}

type changedData struct {
	ProductID  int64                 `json:"product_id"`
	Attributes cloudmeter.Attributes `json:"attributes"`
}

type productData struct {
	ProductID int64 `json:"product_id"`
}

type envelope struct {
	SpecVersion string `json:"specversion"`
	ID          string `json:"id"`
	Source      string `json:"source"`
	Type        string `json:"type"`
	Time        string `json:"time"`
	Data        any    `json:"data"`
}

// infra is a generated infrastructure.
type infra struct {
	id         int64
	user       int64
	label      string
	datacenter string
}

var infraLabels = []string{"web", "api", "analytics", "ci", "data-lake", "staging", "gpu-train", "backup"}

var (
	driveSizes       = []int64{20480, 51200, 102400, 204800, 512000, 1048576}
	sharedDriveSizes = []int64{51200, 102400, 204800, 409600}
)

// Events generates a cloud as CloudEvents JSON objects in ledger order (by time, then
// product). Every resource's history is valid: provisioned once, then server-type
// changes, resizes and stop/start cycles in order, and at most one delete, last.
func Events(o Options) []json.RawMessage {
	users := o.Users
	if users <= 0 || users > 5 {
		users = 5
	}
	r := rand.New(rand.NewPCG(uint64(o.Seed), 0x636c6f75646d6574)) // "cloudmet"
	from := o.From.Unix()
	monthEnd := o.From.AddDate(0, 1, 0).Unix() - 1
	month := monthEnd - from + 1

	// Infrastructures: 2 to 4 per user, alternating datacenters.
	var infras [][]infra
	for u := int64(1); u <= int64(users); u++ {
		n := 2 + r.IntN(3)
		if u == 1 {
			n = 4 // the user who owns the most has the most infrastructures
		}
		var list []infra
		for k := range n {
			label := infraLabels[(int(u)*3+k)%len(infraLabels)]
			list = append(list, infra{id: 20000 + u*100 + int64(k) + 1, user: u, label: label, datacenter: Datacenters[(k+int(u))%2]})
		}
		infras = append(infras, list)
	}
	// User 1 owns 40% of the resources, the others share the rest.
	pickUser := func() int {
		if users == 1 || r.IntN(100) < 40 {
			return 0
		}
		return 1 + r.IntN(users-1)
	}

	var evs []genEvent
	for i := range o.Resources {
		pid := int64(FirstProductID + i)
		in := infras[pickUser()]
		inf := in[r.IntN(len(in))]
		source := "provisioner/" + inf.datacenter
		seq := 0
		add := func(t int64, typ cloudmeter.EventType, data any) {
			seq++
			evs = append(evs, genEvent{time: t, product: pid, seq: seq, source: source, typ: typ, data: data})
		}

		var typ cloudmeter.ResourceType
		switch x := r.IntN(100); {
		case x < 40:
			typ = cloudmeter.ResourceInstance
		case x < 70:
			typ = cloudmeter.ResourceDrive
		case x < 80:
			typ = cloudmeter.ResourceSharedDrive
		default:
			typ = cloudmeter.ResourceSubnet
		}

		// Provisioned before the month (30%) or during its first 85%.
		var prov int64
		if r.IntN(100) < 30 {
			prov = from - 1 - r.Int64N(45*86400)
		} else {
			prov = from + r.Int64N(month*85/100)
		}

		var attrs cloudmeter.Attributes
		var changes int
		var label, array string
		serverType := pickServerType(r)
		driveSize := 0
		switch typ {
		case cloudmeter.ResourceInstance:
			attrs.ServerTypeID = ptr(ServerTypes[serverType].ID)
			attrs.ServerTypeName = ptr(ServerTypes[serverType].Name)
			changes = r.IntN(5)
			label, array = "instance-"+strconv.FormatInt(pid, 10), "instance-array"
		case cloudmeter.ResourceDrive:
			driveSize = r.IntN(4)
			attrs.DriveSizeMBytes = ptr(driveSizes[driveSize])
			attrs.StorageType = ptr(pickStorage(r))
			changes = r.IntN(3)
			label, array = "drive-"+strconv.FormatInt(pid, 10), "drive-array"
		case cloudmeter.ResourceSharedDrive:
			driveSize = r.IntN(3)
			attrs.SharedDriveSizeMBytes = ptr(sharedDriveSizes[driveSize])
			attrs.StorageType = ptr(pickStorage(r))
			changes = r.IntN(2)
			label, array = "shared-drive-"+strconv.FormatInt(pid, 10), "shared-drive"
		case cloudmeter.ResourceSubnet:
			if r.IntN(100) < 70 {
				attrs.SubnetType, attrs.SubnetPrefixSize = ptr("ipv4"), ptr(int64(27+r.IntN(4)))
			} else {
				attrs.SubnetType, attrs.SubnetPrefixSize = ptr("ipv6"), ptr(int64(64))
			}
			label, array = "subnet-"+strconv.FormatInt(pid, 10), "wan"
		}
		add(prov, cloudmeter.EventProvisioned, provisionData{
			ProductID: pid, ResourceType: typ, UserID: inf.user, InfrastructureID: inf.id, InfrastructureLabel: inf.label,
			Datacenter: inf.datacenter, Label: label,
			Subdomain:  fmt.Sprintf("%s.%s.%s.%d.demo.cloudmeter.example", label, array, inf.label, inf.user),
			Attributes: attrs,
		})

		// Later operations happen inside the month, after the provision, at distinct
		// seconds; a quarter of the resources are deleted after their last change.
		deleted := r.IntN(100) < 25
		n := changes
		if deleted {
			n++
		}
		times := distinctTimes(r, max(prov, from)+60, monthEnd, n)
		stopped := false
		for k, t := range times {
			if deleted && k == len(times)-1 {
				add(t, cloudmeter.EventDeleted, productData{ProductID: pid})
				break
			}
			switch typ {
			case cloudmeter.ResourceInstance:
				switch {
				case stopped:
					add(t, cloudmeter.EventStarted, productData{ProductID: pid})
					stopped = false
				case r.IntN(100) < 45:
					add(t, cloudmeter.EventStopped, productData{ProductID: pid})
					stopped = true
				default:
					serverType = (serverType + 1 + r.IntN(len(ServerTypes)-1)) % len(ServerTypes)
					add(t, cloudmeter.EventChanged, changedData{ProductID: pid, Attributes: cloudmeter.Attributes{
						ServerTypeID: ptr(ServerTypes[serverType].ID), ServerTypeName: ptr(ServerTypes[serverType].Name)}})
				}
			case cloudmeter.ResourceDrive:
				driveSize++
				add(t, cloudmeter.EventChanged, changedData{ProductID: pid, Attributes: cloudmeter.Attributes{DriveSizeMBytes: ptr(driveSizes[driveSize])}})
			case cloudmeter.ResourceSharedDrive:
				driveSize++
				add(t, cloudmeter.EventChanged, changedData{ProductID: pid, Attributes: cloudmeter.Attributes{SharedDriveSizeMBytes: ptr(sharedDriveSizes[driveSize])}})
			}
		}
	}

	slices.SortFunc(evs, func(a, b genEvent) int {
		if a.time != b.time {
			return cmpInt(a.time, b.time)
		}
		if a.product != b.product {
			return cmpInt(a.product, b.product)
		}
		return a.seq - b.seq
	})
	out := make([]json.RawMessage, len(evs))
	for i, e := range evs {
		b, err := json.Marshal(envelope{
			SpecVersion: "1.0",
			ID:          "op-" + strconv.FormatInt(e.product, 10) + "-" + strconv.Itoa(e.seq),
			Source:      e.source,
			Type:        string(e.typ),
			Time:        cloudmeter.FormatTime(e.time),
			Data:        e.data,
		})
		if err != nil {
			panic(err) // plain structs always marshal
		}
		out[i] = b
	}
	return out
}

// distinctTimes returns n distinct seconds from lo to hi in ascending order (fewer when
// the range is too small).
func distinctTimes(r *rand.Rand, lo, hi int64, n int) []int64 {
	if n <= 0 || hi < lo {
		return nil
	}
	n = int(min(int64(n), hi-lo+1))
	seen := make(map[int64]bool, n)
	out := make([]int64, 0, n)
	for len(out) < n {
		t := lo + r.Int64N(hi-lo+1)
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

// pickServerType returns an index into ServerTypes: small types are the most common.
func pickServerType(r *rand.Rand) int {
	switch x := r.IntN(100); {
	case x < 35:
		return 0
	case x < 70:
		return 1
	case x < 90:
		return 2
	default:
		return 3
	}
}

func pickStorage(r *rand.Rand) string {
	if r.IntN(100) < 70 {
		return "iscsi_ssd"
	}
	return "iscsi_hdd"
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func ptr[T any](v T) *T { return &v }

// DemoPrices is the demo price book (native format): the seed's book (SeedPrices)
// extended for the generated cloud of Month; see Prices.
var DemoPrices = Prices(Month)

// Prices returns the seed's price book (SeedPrices, which prices the seed example to the
// last digit) extended with: a price per server type (ServerTypes), a price for stopped
// instances, iscsi_hdd drives, a datacenter-specific ipv4 price in us-santaclara, a
// per-user GPU price for user 2, and an iscsi_ssd drive price change that takes effect
// in the middle of the month starting at from, so that reports show the split.
func Prices(from time.Time) []byte {
	var book struct {
		Currency string           `json:"currency"`
		Entries  []map[string]any `json:"entries"`
	}
	if err := json.Unmarshal(SeedPrices, &book); err != nil {
		panic("demo: seed_prices.json: " + err.Error())
	}
	hour := func(e map[string]any) map[string]any {
		if _, ok := e["period_seconds"]; !ok {
			e["period_seconds"] = 3600
		}
		return e
	}
	for _, st := range ServerTypes {
		book.Entries = append(book.Entries, hour(map[string]any{"resource_type": "instance", "server_type_id": st.ID, "price": st.Price, "unit": "item"}))
	}
	change := from.AddDate(0, 0, 15).UTC().Format(time.RFC3339)
	book.Entries = append(book.Entries,
		// After the per-server-type entries: at equal specificity the later entry wins,
		// so a stopped instance pays the stopped price whatever its type.
		hour(map[string]any{"resource_type": "instance", "state": "stopped", "price": "0.02", "unit": "item"}),
		hour(map[string]any{"resource_type": "drive", "storage_type": "iscsi_hdd", "price": "0.0001", "unit": "gib"}),
		hour(map[string]any{"resource_type": "subnet", "subnet_type": "ipv4", "datacenter": "us-santaclara", "price": "0.006", "unit": "ip"}),
		hour(map[string]any{"resource_type": "instance", "server_type_id": 4, "user_id": 2, "price": "2.00", "unit": "item"}),
		hour(map[string]any{"resource_type": "drive", "storage_type": "iscsi_ssd", "price": "0.00045", "unit": "gib", "valid_from": change}),
	)
	out, err := json.MarshalIndent(book, "", " ")
	if err != nil {
		panic(err)
	}
	return append(out, '\n')
}
