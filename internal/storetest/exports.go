package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudmeter/cloudmeter"
)

// RunExports runs the cases of the ExportStore role: targets and their tokens, rounds
// enqueued once per due time, deliveries claimed in order under a lease (one claimer at
// a time, also when several claim at once), outcomes recorded only by the lease's owner,
// and the status that sums them. open must return a new, empty store each time it is
// called.
func RunExports(t *testing.T, open func(t *testing.T) cloudmeter.Store) {
	runTests(t, open, []suiteTest{
		{"ExportTargets", testExportTargets},
		{"ExportRoundOnce", testExportRoundOnce},
		{"ExportClaimOrderAndLease", testExportClaimOrderAndLease},
		{"ExportClaimConcurrent", testExportClaimConcurrent},
		{"ExportStatus", testExportStatus},
	})
}

func exportTarget(id string) cloudmeter.ExportTarget {
	return cloudmeter.ExportTarget{ID: id, URL: "https://billing.example/", ConfigurationID: "icfg_" + id, Token: "tok-" + cloudmeter.Secret(id),
		Users: []int64{1, 7}, Infrastructures: []int64{}, Schedule: 3600, NextRunAt: t0, OpenPeriod: "2026-12", CreatedAt: t0}
}

func mustPutTarget(t *testing.T, s cloudmeter.Store, tg cloudmeter.ExportTarget) {
	t.Helper()
	if err := s.PutExportTarget(ctxOf(t), tg); err != nil {
		t.Fatalf("PutExportTarget: %v", err)
	}
}

func testExportTargets(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	a := exportTarget("a")
	mustPutTarget(t, s, a)
	got, err := s.ExportTarget(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	// The token is kept whole, to be sent.
	if got.Token.Reveal() != "tok-a" {
		t.Errorf("token = %q, want tok-a", got.Token.Reveal())
	}
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("ExportTarget (-want +got):\n%s", diff)
	}
	// Replacing keeps the round.
	b := a
	b.URL, b.Users, b.NextRunAt = "https://other.example", []int64{3}, t0+999
	mustPutTarget(t, s, b)
	got, _ = s.ExportTarget(ctx, "a")
	if got.URL != b.URL || got.NextRunAt != t0 || fmt.Sprint(got.Users) != "[3]" {
		t.Errorf("replaced target = %+v; want the new URL and users, the old round", got)
	}
	mustPutTarget(t, s, exportTarget("b"))
	ts, err := s.ExportTargets(ctx)
	if err != nil || len(ts) != 2 || ts[0].ID != "a" || ts[1].ID != "b" {
		t.Fatalf("ExportTargets = %+v, %v", ts, err)
	}
	if err := s.DeleteExportTarget(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	_, err = s.ExportTarget(ctx, "a")
	wantKind(t, "ExportTarget after delete", err, cloudmeter.KindNotFound)
	wantKind(t, "DeleteExportTarget again", s.DeleteExportTarget(ctx, "a"), cloudmeter.KindNotFound)
}

func deliveries(n int, at int64) []cloudmeter.Delivery {
	var out []cloudmeter.Delivery
	for i := range n {
		out = append(out, cloudmeter.Delivery{Kind: cloudmeter.DeliveryBilling, Period: "2026-12", Path: "/v1/installations/x/billing",
			Body: []byte(fmt.Sprintf(`{"n":%d}`, i)), CreatedAt: at})
	}
	return out
}

func testExportRoundOnce(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	mustPutTarget(t, s, exportTarget("a"))
	ok, err := s.EnqueueDeliveries(ctx, "a", t0, t0+3600, "2026-12", deliveries(2, t0))
	if err != nil || !ok {
		t.Fatalf("first round: %v, %v", ok, err)
	}
	// A second round for the same due time (another instance) stores nothing.
	ok, err = s.EnqueueDeliveries(ctx, "a", t0, t0+3600, "2026-12", deliveries(5, t0))
	if err != nil || ok {
		t.Fatalf("second round for the same due time: %v, %v; want false", ok, err)
	}
	ok, err = s.EnqueueDeliveries(ctx, "a", t0+3600, t0+7200, "2027-01", deliveries(1, t0+3600))
	if err != nil || !ok {
		t.Fatalf("next round: %v, %v", ok, err)
	}
	ds, err := s.Deliveries(ctx, cloudmeter.DeliveryQuery{TargetID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	for _, d := range ds {
		seqs = append(seqs, d.Seq)
		if d.State != cloudmeter.DeliveryPending {
			t.Errorf("delivery %d: state %s, want pending", d.Seq, d.State)
		}
	}
	if diff := cmp.Diff([]int64{3, 2, 1}, seqs); diff != "" {
		t.Errorf("seqs, newest first (-want +got):\n%s", diff)
	}
	tg, _ := s.ExportTarget(ctx, "a")
	if tg.NextRunAt != t0+7200 || tg.OpenPeriod != "2027-01" {
		t.Errorf("target after rounds: next %d period %s", tg.NextRunAt, tg.OpenPeriod)
	}
}

func testExportClaimOrderAndLease(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	mustPutTarget(t, s, exportTarget("a"))
	mustPutTarget(t, s, exportTarget("b"))
	if _, err := s.EnqueueDeliveries(ctx, "a", t0, t0+3600, "2026-12", deliveries(3, t0)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnqueueDeliveries(ctx, "b", t0, t0+3600, "2026-12", deliveries(1, t0)); err != nil {
		t.Fatal(err)
	}
	// Only the first pending delivery of each target.
	got, err := s.ClaimDeliveries(ctx, "x", t0, t0+60, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].TargetID != "a" || got[0].Seq != 1 || got[1].TargetID != "b" || got[1].Seq != 1 {
		t.Fatalf("claimed %+v; want a/1 and b/1", got)
	}
	if string(got[0].Body) != `{"n":0}` {
		t.Errorf("body %s", got[0].Body)
	}
	// While leased, nobody else gets them (nor the next of their targets).
	if again, _ := s.ClaimDeliveries(ctx, "y", t0+59, t0+120, 10); len(again) != 0 {
		t.Fatalf("claimed during the lease: %+v", again)
	}
	// Another owner cannot record an outcome; the owner can.
	if ok, err := s.FinishDelivery(ctx, "y", "a", 1, cloudmeter.DeliveryOutcome{State: cloudmeter.DeliverySent, At: t0}); err != nil || ok {
		t.Fatalf("finish by another owner: %v, %v", ok, err)
	}
	if ok, err := s.FinishDelivery(ctx, "x", "a", 1, cloudmeter.DeliveryOutcome{State: cloudmeter.DeliverySent, At: t0 + 1}); err != nil || !ok {
		t.Fatalf("finish by the owner: %v, %v", ok, err)
	}
	// Retry later: not due before its time.
	if ok, err := s.FinishDelivery(ctx, "x", "b", 1, cloudmeter.DeliveryOutcome{State: cloudmeter.DeliveryPending, NextAttemptAt: t0 + 500,
		Error: "HTTP 503", At: t0 + 1}); err != nil || !ok {
		t.Fatalf("finish pending: %v, %v", ok, err)
	}
	got, _ = s.ClaimDeliveries(ctx, "y", t0+2, t0+60, 10)
	if len(got) != 1 || got[0].TargetID != "a" || got[0].Seq != 2 {
		t.Fatalf("claimed %+v; want a/2 only (b/1 waits until t0+500)", got)
	}
	// An expired lease is claimed again: a crashed owner's delivery is not lost.
	got, _ = s.ClaimDeliveries(ctx, "z", t0+500, t0+560, 10)
	if len(got) != 2 || got[0].TargetID != "a" || got[0].Seq != 2 || got[1].TargetID != "b" || got[1].Attempts != 1 || got[1].LastError != "HTTP 503" {
		t.Fatalf("claimed after the lease %+v; want a/2 again and b/1 with its attempt", got)
	}
	// A released lease is claimable at once.
	if err := s.ReleaseDelivery(ctx, "z", "a", 2); err != nil {
		t.Fatal(err)
	}
	got, _ = s.ClaimDeliveries(ctx, "w", t0+501, t0+560, 10)
	if len(got) != 1 || got[0].Seq != 2 {
		t.Fatalf("after release: %+v", got)
	}
}

func testExportClaimConcurrent(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	const targets, each = 6, 5
	for i := range targets {
		id := fmt.Sprintf("t%d", i)
		mustPutTarget(t, s, exportTarget(id))
		if _, err := s.EnqueueDeliveries(ctx, id, t0, t0+3600, "2026-12", deliveries(each, t0)); err != nil {
			t.Fatal(err)
		}
	}
	// Four claimers drain the outbox at once; each delivery must be claimed by one.
	var mu sync.Mutex
	claimed := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprintf("c%d", c)
			for range 200 {
				ds, err := s.ClaimDeliveries(ctx, owner, t0, t0+3600, 2)
				if err != nil {
					errs <- err
					return
				}
				if len(ds) == 0 {
					mu.Lock()
					n := len(claimed)
					mu.Unlock()
					if n == targets*each {
						return
					}
					continue
				}
				for _, d := range ds {
					mu.Lock()
					claimed[fmt.Sprintf("%s/%d", d.TargetID, d.Seq)]++
					mu.Unlock()
					if ok, err := s.FinishDelivery(ctx, owner, d.TargetID, d.Seq, cloudmeter.DeliveryOutcome{State: cloudmeter.DeliverySent, At: t0}); err != nil || !ok {
						errs <- fmt.Errorf("finish %s/%d: %v %v", d.TargetID, d.Seq, ok, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(claimed) != targets*each {
		t.Fatalf("claimed %d deliveries, want %d", len(claimed), targets*each)
	}
	for k, n := range claimed {
		if n != 1 {
			t.Errorf("delivery %s claimed %d times", k, n)
		}
	}
}

func testExportStatus(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	mustPutTarget(t, s, exportTarget("a"))
	if _, err := s.EnqueueDeliveries(ctx, "a", t0, t0+3600, "2026-12", deliveries(3, t0+10)); err != nil {
		t.Fatal(err)
	}
	ds, _ := s.ClaimDeliveries(ctx, "x", t0+10, t0+60, 1)
	s.FinishDelivery(ctx, "x", "a", ds[0].Seq, cloudmeter.DeliveryOutcome{State: cloudmeter.DeliverySent, At: t0 + 20})
	ds, _ = s.ClaimDeliveries(ctx, "x", t0+20, t0+60, 1)
	s.FinishDelivery(ctx, "x", "a", ds[0].Seq, cloudmeter.DeliveryOutcome{State: cloudmeter.DeliveryFailed, Error: "HTTP 400: period: bad", At: t0 + 21})
	sts, err := s.ExportStatuses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(sts) != 1 {
		t.Fatalf("statuses %+v", sts)
	}
	st := sts[0]
	if st.Sent != 1 || st.Failed != 1 || st.Pending != 1 || st.LastSentAt != t0+20 || st.OldestPendingAt != t0+10 {
		t.Errorf("status %+v", st)
	}
	if st.LastFailure == nil || st.LastFailure.Seq != 2 || st.LastFailure.LastError != "HTTP 400: period: bad" || st.LastFailure.Attempts != 1 {
		t.Errorf("last failure %+v", st.LastFailure)
	}
}
