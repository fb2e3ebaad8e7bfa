package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/internal/pgtest"
	"github.com/cloudmeter/cloudmeter/ledger"
	"github.com/cloudmeter/cloudmeter/postgres"
	"github.com/cloudmeter/cloudmeter/rating"
)

// The product locks of concurrent ingest (sqlstore/locks.go), made to meet on purpose: a
// rate function that waits holds a batch between reading its products and locking them.

const lockT0 int64 = 1704067200 // 2024-01-01T00:00:00Z

func lockEvents(t *testing.T, events ...string) []cloudmeter.Event {
	t.Helper()
	evs, err := ledger.DecodeBatch("application/cloudevents-batch+json", []byte("["+strings.Join(events, ",")+"]"), ledger.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func lockCE(id, typ string, s int64, data string) string {
	return fmt.Sprintf(`{"specversion": "1.0", "id": %q, "source": "locks-test", "type": "cloudmeter.resource.%s", "time": %q, "data": %s}`,
		id, typ, cloudmeter.FormatTime(lockT0+s), data)
}

func lockProv(id string, s, p int64, label string) string {
	return lockCE(id, "provisioned", s, fmt.Sprintf(`{"product_id": %d, "resource_type": "instance", "user_id": 7, "infrastructure_id": 70,
		"infrastructure_label": %q, "datacenter": "dc-a", "label": "p-%d", "subdomain": "p-%d.example", "attributes": {}}`, p, label, p, p))
}

func lockStop(id string, s, p int64) string {
	return lockCE(id, "stopped", s, fmt.Sprintf(`{"product_id": %d}`, p))
}

// heldRate is a rate function (rating.Rate's result, from all events) that, the first
// time it rates product held, says so on reached and waits for release.
type heldRate struct {
	held             int64
	once             sync.Once
	reached, release chan struct{}
}

func newHeldRate(p int64) *heldRate {
	return &heldRate{held: p, reached: make(chan struct{}), release: make(chan struct{})}
}

func (h *heldRate) rate(p int64, evs []cloudmeter.Event) cloudmeter.Rating {
	if p == h.held {
		h.once.Do(func() {
			close(h.reached)
			<-h.release
		})
	}
	return rating.Rate(p, evs)
}

func wait(t *testing.T, c <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: not within 30 s", what)
	}
}

// TestProductWrittenMeanwhile: instance A reads and rates product 501 from its
// provisioning, then waits; instance B stores the product's stop and commits; A then
// locks the product, finds it written meanwhile and rates it again from both events. The
// product ends stopped, as if the batches had come one after the other.
func TestProductWrittenMeanwhile(t *testing.T) {
	ctx := context.Background()
	u := pgtest.URL(t)
	a, err := postgres.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := postgres.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	h := newHeldRate(501)
	done := make(chan error, 1)
	go func() {
		_, err := a.AppendEvents(ctx, lockEvents(t, lockProv("501-p", 0, 501, "web")), h.rate)
		done <- err
	}()
	wait(t, h.reached, "instance A rating 501")
	res, err := b.AppendEvents(ctx, lockEvents(t, lockStop("501-s", 600, 501)), rating.Rate)
	if err != nil || res.Accepted != 1 {
		t.Fatalf("instance B: %+v, %v", res, err)
	}
	close(h.release)
	if err := <-done; err != nil {
		t.Fatalf("instance A: %v", err)
	}

	for _, st := range []interface {
		Resource(context.Context, int64) (cloudmeter.Resource, []cloudmeter.Span, error)
	}{a, b} {
		res, spans, err := st.Resource(ctx, 501)
		if err != nil {
			t.Fatal(err)
		}
		want := rating.Rate(501, append(lockEvents(t, lockProv("501-p", 0, 501, "web")), lockEvents(t, lockStop("501-s", 600, 501))...))
		if res.State != want.Resource.State || len(spans) != len(want.Spans) {
			t.Errorf("product 501: state %q, %d spans; want %q, %d spans (rated from both events)", res.State, len(spans), want.Resource.State, len(want.Spans))
		}
	}
}

// TestBatchesOfOneInstancePipelined: on one instance, a batch that shares a product with
// one that has not yet locked its products waits before it begins (it would otherwise
// wait in the database with its own locks half taken), and begins once that one holds
// its locks; a batch of other products does not wait.
func TestBatchesOfOneInstancePipelined(t *testing.T) {
	ctx := context.Background()
	st, err := postgres.Open(ctx, pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	h := newHeldRate(601)
	first := make(chan error, 1)
	go func() {
		_, err := st.AppendEvents(ctx, lockEvents(t, lockProv("601-p", 0, 601, "web"), lockProv("602-p", 0, 602, "web")), h.rate)
		first <- err
	}()
	wait(t, h.reached, "the first batch rating 601")

	// Other products: not held back.
	if _, err := st.AppendEvents(ctx, lockEvents(t, lockProv("603-p", 0, 603, "web")), rating.Rate); err != nil {
		t.Fatal(err)
	}
	// Product 602 again: waits for the first batch to hold its locks.
	second := make(chan error, 1)
	go func() {
		_, err := st.AppendEvents(ctx, lockEvents(t, lockStop("602-s", 600, 602)), rating.Rate)
		second <- err
	}()
	select {
	case err := <-second:
		t.Fatalf("the second batch of product 602 was stored (%v) while the first had not locked it", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(h.release)
	for _, c := range []chan error{first, second} {
		select {
		case err := <-c:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("a batch was not stored within 30 s")
		}
	}
	res, _, err := st.Resource(ctx, 602)
	if err != nil || res.State != cloudmeter.StateStopped {
		t.Errorf("product 602: %q, %v; want stopped", res.State, err)
	}
}

// TestGenericPlans: every connection of the store plans a prepared statement once for
// any values (see genericPlans), so that a list of product ids is never planned as a
// sequential scan of a table that has not been analyzed yet.
func TestGenericPlans(t *testing.T) {
	ctx := context.Background()
	st, err := postgres.Open(ctx, pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// Several connections at once, so that more than the first one is looked at.
	conns := make([]interface{ Close() error }, 0, 3)
	for range 3 {
		c, err := st.DB().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var mode string
		if err := c.QueryRowContext(ctx, "SHOW plan_cache_mode").Scan(&mode); err != nil || mode != "force_generic_plan" {
			t.Errorf("plan_cache_mode = %q, %v; want force_generic_plan", mode, err)
		}
	}
	for _, c := range conns {
		c.Close()
	}
}
