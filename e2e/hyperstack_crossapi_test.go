package e2e

import (
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudmeter/cloudmeter/internal/e2etest"
)

// costs are amounts by product id, as exact decimals of 8 places.
type costs map[int64]string

func (c costs) add(t *testing.T, product int64, amount any) {
	t.Helper()
	sum := decimal(t, amount)
	if prev, ok := c[product]; ok {
		sum.Add(sum, decimal(t, prev))
	}
	c[product] = fixed8(sum)
}

func (c costs) total(t *testing.T) string {
	t.Helper()
	sum := new(big.Rat)
	for _, v := range c {
		sum.Add(sum, decimal(t, v))
	}
	return fixed8(sum)
}

// hyperstackTypes are the resource types the Hyperstack view shows.
var hyperstackTypes = []string{"instance", "drive", "shared_drive"}

// metalsoftCosts reads the VMs and volumes of users (organization 7's user when none is
// named) from the MetalSoft detailed report over [from, to], by product: the sum of their
// records' costs, and each record.
func metalsoftCosts(t *testing.T, e *hsEnv, from, to string, users ...int64) (costs, map[int64][]map[string]any) {
	t.Helper()
	out, recs := costs{}, map[int64][]map[string]any{}
	for _, user := range orOrg(users) {
		res := rpcResult(t, e.RPC(t, e.AdminKey, detailed(user, from, to)))
		for _, types := range res["detailed_report"].(map[string]any) {
			for typ, list := range types.(map[string]any) {
				if !slices.Contains(hyperstackTypes, typ) {
					continue
				}
				for _, r := range list.([]any) {
					rec := r.(map[string]any)
					id := numberOf(t, rec["product_id"])
					out.add(t, id, rec["cost"])
					recs[id] = append(recs[id], rec)
				}
			}
		}
	}
	return out, recs
}

// orOrg returns users, or organization 7's user when none is named.
func orOrg(users []int64) []int64 {
	if len(users) == 0 {
		return []int64{hsOrg}
	}
	return users
}

// nativeCosts reads the same from the native utilization report.
func nativeCosts(t *testing.T, e *hsEnv, from, to string, users ...int64) costs {
	t.Helper()
	out := costs{}
	for _, user := range orOrg(users) {
		r := e.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/users/%d/utilization?from=%s&to=%s", user, from, to), e.AdminKey, "", nil)
		e2etest.MustStatus(t, r, http.StatusOK, "native utilization")
		for _, rec := range r.Object(t)["records"].([]any) {
			m := rec.(map[string]any)
			if slices.Contains(hyperstackTypes, str(m["resource_type"])) {
				out.add(t, numberOf(t, m["product_id"]), m["cost"])
			}
		}
	}
	return out
}

// TestHyperstackAgreesWithMetalSoftAndNative: the same usage read through the three APIs
// costs the same, resource by resource and in total, to the last digit: over November
// (the Hyperstack history lists, details, events, graphs and organization bill against
// the MetalSoft and native reports of the same window), and over whole lives (usage's
// total_bill against reports that cover them).
func TestHyperstackAgreesWithMetalSoftAndNative(t *testing.T) {
	e2etest.OnEachEngine(t, func(t *testing.T, eng e2etest.Engine) {
		e := startHyperstack(t, eng)
		checkHyperstackAgreement(t, e, e.Customer, 5, hsOrg)
	})
}

// TestHyperstackAgreesWithReservations: the same agreement when a reservation covers one
// of two running instances of a server type for part of November. Organization 7
// reserves one instance of server type 4 in CANADA-1 from 2026-11-03T12:00:00Z, at 0.40 an
// hour: VM 4242 (provisioned in October, outside the window) and VM 4300 (2026-11-03 to
// 11-04) both run then, and 4242, provisioned first, is covered until its delete; 4300
// stays on demand. User 8 (organization 8) runs VM 8400 of the same server type and
// datacenter, provisioned before 4242: coverage is per user, so a reader of every
// organization sees it on demand too. The reservation's installment is no resource's:
// the per-resource figures leave it out on every API.
func TestHyperstackAgreesWithReservations(t *testing.T) {
	e2etest.OnEachEngine(t, func(t *testing.T, eng e2etest.Engine) {
		e := startHyperstack(t, eng)
		gpu := map[string]any{"server_type_id": 4, "server_type_name": "G.32.256.2.A100"}
		if res := e.PostEvents(t, batch(
			hsProvision("rsv-1", "2026-10-01T00:00:00Z", 8400, "instance", hsOtherOrg, 80, "default-NORWAY-1", "gpu-other-8400", gpu, false),
			hsEvent("rsv-2", "deleted", "2026-11-20T00:00:00Z", map[string]any{"product_id": 8400}),
		)); res.Accepted != 2 {
			t.Fatalf("%d events accepted, want 2", res.Accepted)
		}
		rpcCreated(t, e.RPC(t, e.AdminKey, rpcCall("server_type_reservation_create", hsOrg, map[string]any{
			"server_type_id": 4, "server_type_name": "G.32.256.2.A100", "datacenter_name": "CANADA-1",
			"resource_reservation_price": "100.00", "resource_utilization_price": "0.40",
			"resource_reservation_start_timestamp": "2026-11-03T12:00:00Z", "resource_reservation_cycle_months": 1,
		}, 1)), 1)

		// The MetalSoft report of November applies it: 4242's seconds from the
		// reservation's start to its delete at 0.40 (one record per span), the rest on
		// demand; 4300 and 8400 are never covered.
		type line struct{ Start, End, CPU, Reservation string }
		_, recs := metalsoftCosts(t, e, "2026-11-01T00:00:00Z", "2026-11-30T23:59:59Z", hsOrg, hsOtherOrg)
		lines := func(product int64) []line {
			var out []line
			for _, rec := range recs[product] {
				checkArithmetic(t, fmt.Sprintf("MetalSoft record of %d", product), rec)
				out = append(out, line{str(rec["start_timestamp"]), str(rec["end_timestamp"]), str(rec["cost_per_unit"]), str(rec["is_reservation"])})
			}
			slices.SortFunc(out, func(a, b line) int { return strings.Compare(a.Start, b.Start) })
			return out
		}
		want := []line{
			{"2026-11-01T00:00:00Z", "2026-11-03T11:59:59Z", "2.40000000", "0"},
			{"2026-11-03T12:00:00Z", "2026-11-05T09:59:59Z", "0.40000000", "1"},
			{"2026-11-05T10:00:00Z", "2026-11-09T23:59:59Z", "0.40000000", "1"},
			{"2026-11-10T00:00:00Z", "2026-11-12T06:29:59Z", "0.40000000", "1"},
			{"2026-11-12T06:30:00Z", "2026-11-25T18:15:30Z", "0.40000000", "1"},
		}
		if d := cmp.Diff(want, lines(hsVM)); d != "" {
			t.Fatalf("MetalSoft records of VM %d (-want +got):\n%s", hsVM, d)
		}
		for _, product := range []int64{4300, 8400} {
			for _, l := range lines(product) {
				if l.Reservation != "0" {
					t.Errorf("VM %d: %v is covered, want on demand", product, l)
				}
			}
		}

		// Hyperstack's billing events of 4242 name the reservation where it begins to cover
		// the VM; a power event at a second within the stretch is named as such. Over a
		// window that starts inside the stretch, the first entry keeps the cause of the
		// segment it lies in.
		type ev struct{ Event, Start, PricePerHour string }
		events := func(query string) []ev {
			body := hsObject(t, hsGet(t, e.Server, e.Customer, fmt.Sprintf("/v1/billing/billing/virtual-machine/%d/billing-events?%s", hsVM, query)), "events")
			var out []ev
			for _, x := range dig(t, body, "billing_events_history").([]any) {
				out = append(out, ev{str(dig(t, x, "event")), str(dig(t, x, "start")), str(dig(t, x, "price_per_hour"))})
			}
			return out
		}
		wantEvents := []ev{
			{"provisioned", "2026-11-01T00:00:00", "2.40000000"},
			{"reserved", "2026-11-03T12:00:00", "0.40000000"},
			{"stopped", "2026-11-05T10:00:00", "0.40000000"},
			{"hibernated", "2026-11-10T00:00:00", "0.40000000"},
			{"started", "2026-11-12T06:30:00", "0.40000000"},
		}
		if d := cmp.Diff(wantEvents, events(hsQuery)); d != "" {
			t.Errorf("billing events of VM %d in November (-want +got):\n%s", hsVM, d)
		}
		wantEvents[1] = ev{"provisioned", "2026-11-04T00:00:00", "0.40000000"}
		if d := cmp.Diff(wantEvents[1:], events("start_date=2026-11-04T00%3A00%3A00&end_date=2026-11-30T23%3A59%3A59")); d != "" {
			t.Errorf("billing events of VM %d from 4 November (-want +got):\n%s", hsVM, d)
		}

		// The organization's own view, and a reader's view of every organization.
		checkHyperstackAgreement(t, e, e.Customer, 5, hsOrg)
		checkHyperstackAgreement(t, e, e.AdminKey, 7, hsOrg, hsOtherOrg)
	})
}

// checkHyperstackAgreement reads the usage of users (each its own organization) through
// the Hyperstack API with key, and checks it against their MetalSoft and native reports,
// resource by resource and in total; the reports hold n VMs and volumes in November.
func checkHyperstackAgreement(t *testing.T, e *hsEnv, key string, n int, users ...int64) {
	t.Helper()
	ms, _ := metalsoftCosts(t, e, "2026-11-01T00:00:00Z", "2026-11-30T23:59:59Z", users...)
	native := nativeCosts(t, e, "2026-11-01T00:00:00Z", "2026-11-30T23:59:59Z", users...)
	if d := cmp.Diff(ms, native); d != "" {
		t.Fatalf("MetalSoft and native reports differ (-MetalSoft +native):\n%s", d)
	}
	if len(ms) != n {
		t.Fatalf("the MetalSoft reports hold %d VMs and volumes of users %v, want %d: %v", len(ms), users, n, ms)
	}

	// The lists, each resource's details, billing events and daily graph.
	lists, details, events, graphs := costs{}, costs{}, costs{}, costs{}
	for _, kind := range []struct{ list, wrapper, details, detailsWrapper, graphWrapper, events string }{
		{"virtual-machine", "billing_history_vm", "history/virtual-machine", "billing_history_vm_details", "billing_history_vm_details", "virtual-machine"},
		{"volume", "billing_history_volume", "history/volume", "billing_history_volume_details", "billing_history_snapshot_details", "volume"},
	} {
		body := hsObject(t, hsGet(t, e.Server, key, "/v1/billing/billing/history/"+kind.list+"?per_page=1000&"+hsQuery), kind.list)
		for _, item := range dig(t, body, kind.wrapper, "billing_history").([]any) {
			id, err := strconv.ParseInt(str(dig(t, item, "attributes", "id")), 10, 64)
			if err != nil {
				t.Fatalf("attributes.id %v", dig(t, item, "attributes", "id"))
			}
			lists.add(t, id, dig(t, item, "metrics", "incurred_bill"))
			base := fmt.Sprintf("/v1/billing/billing/%s/%d", kind.details, id)
			d := hsObject(t, hsGet(t, e.Server, key, base+"?"+hsQuery), "details")
			details.add(t, id, dig(t, d, kind.detailsWrapper, "billing_history", 0, "metrics", "incurred_bill"))
			g := hsObject(t, hsGet(t, e.Server, key, base+"/graph?"+hsQuery), "graph")
			if got := str(dig(t, g, kind.graphWrapper, "billing_history", 0, "metrics", "incurred_bill")); got != details[id] {
				t.Errorf("%d: the graph's incurred_bill %s differs from the details' %s", id, got, details[id])
			}
			graphs[id] = "0.00000000"
			for _, p := range dig(t, g, kind.graphWrapper, "billing_history", 0, "metrics", "incurred_bill_graph").([]any) {
				graphs.add(t, id, dig(t, p, "value"))
			}
			ev := hsObject(t, hsGet(t, e.Server, key, fmt.Sprintf("/v1/billing/billing/%s/%d/billing-events?%s", kind.events, id, hsQuery)), "events")
			events[id] = "0.00000000"
			for _, x := range dig(t, ev, "billing_events_history").([]any) {
				events.add(t, id, dig(t, x, "total_cost"))
			}
		}
	}
	for name, got := range map[string]costs{"history lists": lists, "details": details, "daily graphs (summed)": graphs, "billing events (summed)": events} {
		if d := cmp.Diff(ms, got); d != "" {
			t.Errorf("Hyperstack %s differ from MetalSoft (-MetalSoft +Hyperstack):\n%s", name, d)
		}
	}

	// Each organization's bill, by type and in total (user u is organization u).
	h := hsObject(t, hsGet(t, e.Server, key, "/v1/billing/billing/history?graph=true&"+hsQuery), "history")
	billed := map[int64]bool{}
	for _, item := range dig(t, h, "billing_history", "billing_history").([]any) {
		org, err := strconv.ParseInt(str(dig(t, item, "attributes", "id")), 10, 64)
		if err != nil {
			t.Fatalf("attributes.id %v", dig(t, item, "attributes", "id"))
		}
		billed[org] = true
		orgCosts := costs{}
		if slices.Contains(users, org) {
			orgCosts, _ = metalsoftCosts(t, e, "2026-11-01T00:00:00Z", "2026-11-30T23:59:59Z", org)
		}
		m := dig(t, item, "metrics").(map[string]any)
		vm, volume := costs{}, costs{}
		for id, c := range orgCosts {
			if id == hsVolume || id == 778 {
				volume[id] = c
			} else {
				vm[id] = c
			}
		}
		for name, want := range map[string]string{"incurred_bill": orgCosts.total(t), "non_discounted_bill": orgCosts.total(t),
			"vm_cost": vm.total(t), "volume_cost": volume.total(t)} {
			if got := str(m[name]); got != want {
				t.Errorf("organization %d: history %s = %s, want %s (the MetalSoft report's)", org, name, got, want)
			}
		}
		graphTotal := costs{}
		for _, p := range m["incurred_bill_graph"].([]any) {
			graphTotal.add(t, 0, dig(t, p, "value"))
		}
		if got := graphTotal[0]; got != orgCosts.total(t) {
			t.Errorf("organization %d's daily graph adds up to %s, want %s", org, got, orgCosts.total(t))
		}
	}
	for _, u := range users {
		if !billed[u] {
			t.Errorf("history holds no bill of organization %d", u)
		}
	}

	// Whole lives: every life lies in October and November 2026.
	msLife, _ := metalsoftCosts(t, e, "2026-10-01T00:00:00Z", "2026-11-30T23:59:59Z", users...)
	nativeLife := nativeCosts(t, e, "2026-10-01T00:00:00Z", "2026-11-30T23:59:59Z", users...)
	usage := costs{}
	for _, item := range dig(t, hsObject(t, hsGet(t, e.Server, key, "/v1/billing/billing/usage"), "usage"), "data").([]any) {
		usage.add(t, numberOf(t, dig(t, item, "resource_id")), dig(t, item, "total_bill"))
	}
	if d := cmp.Diff(msLife, usage); d != "" {
		t.Errorf("usage total_bill differs from the MetalSoft report of whole lives (-MetalSoft +Hyperstack):\n%s", d)
	}
	if d := cmp.Diff(msLife, nativeLife); d != "" {
		t.Errorf("MetalSoft and native reports of whole lives differ:\n%s", d)
	}
}

// TestHyperstackHiddenHistory: VM 4242 runs, is shut off, hibernated and started again
// in November, and the price of its server type changes while it runs. No part of that
// history may be hidden or priced twice: each API shows every segment at its own price,
// the three give the same total, and Hyperstack's usage time per state is the time the
// events say.
func TestHyperstackHiddenHistory(t *testing.T) {
	e2etest.OnEachEngine(t, func(t *testing.T, eng e2etest.Engine) {
		at := func(s string) int64 {
			tm, err := time.Parse(time.RFC3339, s)
			if err != nil {
				t.Fatal(err)
			}
			return tm.Unix()
		}
		// The segments of November, from the events and the price book alone.
		want := []struct {
			from, to, cpu, event string
		}{
			{"2026-11-01T00:00:00Z", "2026-11-05T09:59:59Z", "2.40000000", "provisioned"},
			{"2026-11-05T10:00:00Z", "2026-11-09T23:59:59Z", "0.05000000", "stopped"},
			{"2026-11-10T00:00:00Z", "2026-11-12T06:29:59Z", "0.01000000", "hibernated"},
			{"2026-11-12T06:30:00Z", "2026-11-19T23:59:59Z", "2.40000000", "started"},
			{"2026-11-20T00:00:00Z", "2026-11-25T18:15:30Z", "2.50000000", "price_changed"},
		}
		total, seconds := new(big.Rat), map[string]int64{}
		for i, w := range want {
			q := at(w.to) - at(w.from) + 1
			total.Add(total, decimal(t, expectCost(t, q, 3600, w.cpu)))
			seconds[[]string{"ACTIVE", "SHUTOFF", "HIBERNATED", "ACTIVE", "ACTIVE"}[i]] += q
		}
		hours := func(s int64) string { return roundHalfUp8(big.NewRat(s, 3600)) }

		e := startHyperstack(t, eng)
		// MetalSoft: one record per segment.
		ms, recs := metalsoftCosts(t, e, "2026-11-01T00:00:00Z", "2026-11-30T23:59:59Z")
		got := recs[hsVM]
		slices.SortFunc(got, func(a, b map[string]any) int {
			return strings.Compare(str(a["start_timestamp"]), str(b["start_timestamp"]))
		})
		if len(got) != len(want) {
			t.Fatalf("MetalSoft shows %d records of VM %d, want %d (one per segment): %v", len(got), hsVM, len(want), got)
		}
		for i, w := range want {
			wantRecord{ProductID: hsVM, Start: w.from, End: w.to, Quantity: fmt.Sprint(at(w.to) - at(w.from) + 1), CostPerUnit: w.cpu,
				Cost: expectCost(t, at(w.to)-at(w.from)+1, 3600, w.cpu)}.check(t, fmt.Sprintf("MetalSoft record %d", i), got[i])
		}
		if ms[hsVM] != fixed8(total) {
			t.Errorf("MetalSoft total %s, want %s", ms[hsVM], fixed8(total))
		}
		if n := nativeCosts(t, e, "2026-11-01T00:00:00Z", "2026-11-30T23:59:59Z")[hsVM]; n != fixed8(total) {
			t.Errorf("native total %s, want %s", n, fixed8(total))
		}
		// Hyperstack: the details, per state, and one billing event per segment.
		d := hsObject(t, hsGet(t, e.Server, e.Customer, fmt.Sprintf("/v1/billing/billing/history/virtual-machine/%d?%s", hsVM, hsQuery)), "details")
		m := dig(t, d, "billing_history_vm_details", "billing_history", 0, "metrics").(map[string]any)
		for name, w := range map[string]string{"incurred_bill": fixed8(total), "usage_time_ACTIVE": hours(seconds["ACTIVE"]),
			"usage_time_SHUTOFF": hours(seconds["SHUTOFF"]), "usage_time_HIBERNATED": hours(seconds["HIBERNATED"]),
			"usage_time": hours(seconds["ACTIVE"] + seconds["SHUTOFF"] + seconds["HIBERNATED"]), "price_per_hour": "2.50000000"} {
			if str(m[name]) != w {
				t.Errorf("Hyperstack %s = %v, want %s", name, m[name], w)
			}
		}
		ev := hsObject(t, hsGet(t, e.Server, e.Customer, fmt.Sprintf("/v1/billing/billing/virtual-machine/%d/billing-events?%s", hsVM, hsQuery)), "events")
		list := dig(t, ev, "billing_events_history").([]any)
		if len(list) != len(want) {
			t.Fatalf("%d billing events, want %d: %v", len(list), len(want), list)
		}
		for i, w := range want {
			x := list[i].(map[string]any)
			q := at(w.to) - at(w.from) + 1
			if x["event"] != w.event || x["start"] != w.from[:19] || str(x["price_per_hour"]) != w.cpu ||
				str(x["event_duration"]) != hours(q) || str(x["total_cost"]) != expectCost(t, q, 3600, w.cpu) {
				t.Errorf("billing event %d: %v; want %s at %s, %s h at %s", i, x, w.event, w.from, hours(q), w.cpu)
			}
		}
	})
}
