package storetest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/ledger"
)

// The upgrade to span chunks (migration 8) is tested from a data directory made by the
// version before it (internal/storeopen/testdata/before-span-chunks): on SQLite as it
// is, on PostgreSQL with its rows copied into a database migrated down to version 7.
// These helpers are what both tests share.

// FixtureEvents returns the events the fixture in dir was made of (its events.json).
func FixtureEvents(t *testing.T, dir string) []cloudmeter.Event {
	t.Helper()
	body, err := os.ReadFile(filepath.Join(dir, "events.json"))
	if err != nil {
		t.Fatal(err)
	}
	evs, err := ledger.DecodeBatch("application/cloudevents-batch+json", body, ledger.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// LaterEvents are events sent to the fixture after the upgrade: some later than
// everything stored of their product, one late (in February, within product 101's
// stored history), the provision of a product that had none, and a traffic sample.
func LaterEvents(t *testing.T) []cloudmeter.Event {
	t.Helper()
	evs, err := ledger.DecodeBatch("application/cloudevents-batch+json", []byte(`[
	{"specversion":"1.0","id":"after-1","source":"fixture/provisioner","type":"cloudmeter.resource.started","time":"2024-04-01T00:00:00Z","data":{"product_id":101}},
	{"specversion":"1.0","id":"after-2","source":"fixture/provisioner","type":"cloudmeter.resource.changed","time":"2024-02-10T12:00:00Z","data":{"product_id":101,"attributes":{"server_type_id":9}}},
	{"specversion":"1.0","id":"after-3","source":"fixture/provisioner","type":"cloudmeter.resource.deleted","time":"2024-04-02T00:00:00Z","data":{"product_id":201}},
	{"specversion":"1.0","id":"after-4","source":"fixture/provisioner","type":"cloudmeter.resource.provisioned","time":"2024-01-05T00:00:00Z","data":{"product_id":104,"resource_type":"instance","user_id":2,"infrastructure_id":20,"infrastructure_label":"infra-20","datacenter":"uk-reading","label":"product-104","subdomain":"product-104.example","attributes":{}}},
	{"specversion":"1.0","id":"after-5","source":"fixture/provisioner","type":"cloudmeter.traffic.metered","time":"2024-01-03T00:30:00Z","data":{"product_id":105,"direction":"upload","counter":1}}]`), ledger.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// CompareAll compares every product of events (of users 1 and 2) in the store with
// rating its events from scratch (CompareRating).
func CompareAll(t *testing.T, st cloudmeter.Store, events []cloudmeter.Event, when string) {
	t.Helper()
	by := map[int64][]cloudmeter.Event{}
	for _, e := range events {
		by[e.ProductID] = append(by[e.ProductID], e)
	}
	for p, evs := range by {
		if err := CompareRating(context.Background(), st, p, []int64{1, 2}, evs); err != nil {
			t.Errorf("%s: %v", when, err)
		}
	}
}
