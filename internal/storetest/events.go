package storetest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/ledger"
	"github.com/cloudmeter/cloudmeter/rating"
)

// t0 is the second the suite's histories start from: 2024-01-01T00:00:00Z.
const t0 int64 = 1704067200

// source is the CloudEvents source of the suite's events.
const source = "storetest/provisioner"

// at renders t0+s as a CloudEvents time.
func at(s int64) string { return cloudmeter.FormatTime(t0 + s) }

// ce is one CloudEvent of the suite, as JSON.
func ce(id, typ string, s int64, data string) string {
	return fmt.Sprintf(`{"specversion": "1.0", "id": %q, "source": %q, "type": "cloudmeter.resource.%s", "time": %q, "data": %s}`,
		id, source, typ, at(s), data)
}

// prov is a provisioned event of product p of user u in infrastructure infra
// ("infra-<id>"), datacenter dc; attrs is the attributes object.
func prov(id string, s, p, u, infra int64, typ, dc, attrs string) string {
	return ce(id, "provisioned", s, fmt.Sprintf(`{"product_id": %d, "resource_type": %q, "user_id": %d, "infrastructure_id": %d,
		"infrastructure_label": "infra-%d", "datacenter": %q, "label": "product-%d", "subdomain": "product-%d.example", "attributes": %s}`,
		p, typ, u, infra, infra, dc, p, p, attrs))
}

func change(id string, s, p int64, attrs string) string {
	return ce(id, "changed", s, fmt.Sprintf(`{"product_id": %d, "attributes": %s}`, p, attrs))
}

func stop(id string, s, p int64) string {
	return ce(id, "stopped", s, fmt.Sprintf(`{"product_id": %d}`, p))
}

func del(id string, s, p int64) string {
	return ce(id, "deleted", s, fmt.Sprintf(`{"product_id": %d}`, p))
}

// decode turns CloudEvents into ledger events, as the ingest API does.
func decode(tb testing.TB, events ...string) []cloudmeter.Event {
	tb.Helper()
	evs, err := ledger.DecodeBatch("application/cloudevents-batch+json", []byte("["+strings.Join(events, ",\n")+"]"), ledger.Limits{})
	if err != nil {
		tb.Fatalf("suite events do not decode: %v", err)
	}
	return evs
}

// world is a small deployment:
//
//	user 1, infrastructure 10 (dc-a): instance 101, server type 1 then 2 at 3600, deleted
//	  at 7200; drive 102, alive
//	user 1, infrastructure 11 (dc-b): subnet 103 from 100 to 200
//	user 2, infrastructure 20 (dc-c): instance 201, alive
func world(tb testing.TB) []cloudmeter.Event {
	return decode(tb,
		prov("101-p", 0, 101, 1, 10, "instance", "dc-a", `{"server_type_id": 1, "server_type_name": "M.8.8"}`),
		change("101-c", 3600, 101, `{"server_type_id": 2}`),
		del("101-d", 7200, 101),
		prov("102-p", 0, 102, 1, 10, "drive", "dc-a", `{"drive_size_mbytes": 40960, "storage_type": "iscsi_ssd"}`),
		prov("103-p", 100, 103, 1, 11, "subnet", "dc-b", `{"subnet_type": "ipv4", "subnet_prefix_size": 29}`),
		del("103-d", 200, 103),
		prov("201-p", 0, 201, 2, 20, "instance", "dc-c", `{}`),
	)
}

// expected rates products from events in memory, with the production rate function:
// what the store must hold after storing them.
func expected(events []cloudmeter.Event) map[int64]cloudmeter.Rating {
	by := map[int64][]cloudmeter.Event{}
	for _, e := range events {
		by[e.ProductID] = append(by[e.ProductID], e)
	}
	out := map[int64]cloudmeter.Rating{}
	for p, evs := range by {
		out[p] = rating.Rate(p, evs)
	}
	return out
}

// stored is what a store keeps of an event.
type stored struct {
	Source, ID string
	Type       cloudmeter.EventType
	Time       int64
	ProductID  int64
	Subject    string
	Data       string
	Digest     string
}

func storedOf(evs []cloudmeter.Event) map[string]stored {
	out := map[string]stored{}
	for _, e := range evs {
		out[e.Source+"\x00"+e.ID] = stored{e.Source, e.ID, e.Type, e.Time, e.ProductID, e.Subject, string(e.Data), e.Digest}
	}
	return out
}
