package storetest

import (
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudmeter/cloudmeter"
)

// RunReservations runs the cases of the ReservationStore role: creation with ids unique
// across users and concurrent requests, reading by id, by user and by window, and the
// provision times coverage ranks by. open must return a new, empty store each time it is
// called.
func RunReservations(t *testing.T, open func(t *testing.T) cloudmeter.Store) {
	runTests(t, open, []suiteTest{
		{"ReservationsCreateAndRead", testReservationsCreateAndRead},
		{"ReservationsConcurrentIDs", testReservationsConcurrentIDs},
		{"ReservationsProvisionedAt", testReservationsProvisionedAt},
	})
}

func sampleReservation(user int64) cloudmeter.Reservation {
	return cloudmeter.Reservation{UserID: user, ServerTypeID: 12, ServerTypeName: "M.40.256", Datacenter: "dc-a", Price: 150_00000000,
		UtilizationPrice: 1234, CycleMonths: 12, CreatedAt: t0, Start: t0 + 3600, End: t0 + 3600 + 366*86400 - 1}
}

func testReservationsCreateAndRead(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	a, err := s.CreateReservations(ctx, sampleReservation(7), 2)
	if err != nil {
		t.Fatalf("CreateReservations: %v", err)
	}
	later := sampleReservation(8)
	later.Start, later.End = t0+400*86400, t0+500*86400
	b, err := s.CreateReservations(ctx, later, 1)
	if err != nil {
		t.Fatalf("CreateReservations: %v", err)
	}
	want := []cloudmeter.Reservation{sampleReservation(7), sampleReservation(7)}
	want[0].ID, want[1].ID = 1, 2
	if d := cmp.Diff(want, a); d != "" {
		t.Errorf("created (-want +got):\n%s", d)
	}
	if len(b) != 1 || b[0].ID != 3 {
		t.Errorf("second creation = %+v; want id 3", b)
	}
	got, err := s.Reservation(ctx, 2)
	if err != nil || !cmp.Equal(got, want[1]) {
		t.Errorf("Reservation(2) = %+v, %v; want %+v", got, err, want[1])
	}
	_, err = s.Reservation(ctx, 99)
	wantKind(t, "Reservation(99)", err, cloudmeter.KindNotFound)
	list, err := s.UserReservations(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, list); d != "" {
		t.Errorf("UserReservations(7) (-want +got):\n%s", d)
	}
	if list, err := s.UserReservations(ctx, 9); err != nil || len(list) != 0 {
		t.Errorf("UserReservations(9) = %v, %v; want none", list, err)
	}
	// The user becomes known.
	if ok, err := s.UserExists(ctx, 8); err != nil || !ok {
		t.Errorf("UserExists(8) = %v, %v; want true", ok, err)
	}
	// In force at some second of the window: both bounds inclusive.
	for _, c := range []struct {
		user, from, to int64
		want           int
	}{
		{7, t0, t0 + 3599, 0},
		{7, t0, t0 + 3600, 2},
		{7, want[0].End, want[0].End + 10, 2},
		{7, want[0].End + 1, want[0].End + 10, 0},
		{8, t0, t0 + 400*86400 - 1, 0},
		{8, t0 + 500*86400, t0 + 600*86400, 1},
	} {
		got, err := s.ReservationsOverlapping(ctx, c.user, c.from, c.to)
		if err != nil || len(got) != c.want {
			t.Errorf("ReservationsOverlapping(%d, %d, %d) = %d reservations, %v; want %d", c.user, c.from-t0, c.to-t0, len(got), err, c.want)
		}
	}
}

func testReservationsConcurrentIDs(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for u := int64(1); u <= 8; u++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.CreateReservations(ctx, sampleReservation(u), 3)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("CreateReservations: %v", err)
		}
	}
	seen := map[int64]bool{}
	for u := int64(1); u <= 8; u++ {
		list, err := s.UserReservations(ctx, u)
		if err != nil || len(list) != 3 {
			t.Fatalf("UserReservations(%d) = %d, %v; want 3", u, len(list), err)
		}
		for i, r := range list {
			if seen[r.ID] || (i > 0 && r.ID != list[i-1].ID+1) {
				t.Errorf("user %d: ids %d: each request's ids must be new and consecutive", u, r.ID)
			}
			seen[r.ID] = true
		}
	}
	if len(seen) != 24 {
		t.Errorf("%d distinct ids; want 24", len(seen))
	}
}

func testReservationsProvisionedAt(t *testing.T, s cloudmeter.Store) {
	mustAppend(t, s, world(t))
	got, err := s.ProvisionedAt(ctxOf(t), []int64{101, 103, 201, 999})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]int64{101: t0, 103: t0 + 100, 201: t0}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ProvisionedAt (-want +got):\n%s", d)
	}
}
