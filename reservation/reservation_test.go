package reservation_test

import (
	"cmp"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/reservation"
)

func ts(s string) int64 {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.Unix()
}

func TestAddMonths(t *testing.T) {
	for _, c := range []struct {
		from   string
		months int
		want   string
	}{
		{"2024-01-15T10:00:00Z", 1, "2024-02-15T10:00:00Z"},
		{"2024-01-31T10:00:00Z", 1, "2024-02-29T10:00:00Z"},
		{"2023-01-31T10:00:00Z", 1, "2023-02-28T10:00:00Z"},
		{"2024-01-31T10:00:00Z", 2, "2024-03-31T10:00:00Z"},
		{"2024-12-31T23:59:59Z", 2, "2025-02-28T23:59:59Z"},
		{"2024-03-15T00:00:00Z", 12, "2025-03-15T00:00:00Z"},
		{"2024-03-15T00:00:00Z", 0, "2024-03-15T00:00:00Z"},
	} {
		if got := cloudmeter.FormatTime(reservation.AddMonths(ts(c.from), c.months)); got != c.want {
			t.Errorf("AddMonths(%s, %d) = %s; want %s", c.from, c.months, got, c.want)
		}
	}
	if got, want := cloudmeter.FormatTime(reservation.End(ts("2024-03-15T12:00:00Z"), 12)), "2025-03-15T11:59:59Z"; got != want {
		t.Errorf("End = %s; want %s", got, want)
	}
}

func res(id int64, start string, months int, price string) cloudmeter.Reservation {
	p, err := money.ParseAmount(price)
	if err != nil {
		panic(err)
	}
	s := ts(start)
	return cloudmeter.Reservation{ID: id, UserID: 1, ServerTypeID: 7, Datacenter: "dc", Price: p, CycleMonths: months, Start: s,
		End: reservation.End(s, months)}
}

func TestInstallments(t *testing.T) {
	rs := []cloudmeter.Reservation{res(2, "2024-01-31T12:00:00Z", 3, "100"), res(1, "2024-02-15T00:00:00Z", 12, "50.5")}
	got := reservation.Installments(rs, ts("2024-02-01T00:00:00Z"), ts("2024-04-30T23:59:59Z"))
	type row struct {
		ID         int64
		N          int
		Start, End string
		Cost       string
	}
	var rows []row
	for _, in := range got {
		rows = append(rows, row{in.Reservation.ID, in.Number, cloudmeter.FormatTime(in.Start), cloudmeter.FormatTime(in.End), in.Cost.String()})
	}
	want := []row{
		{1, 1, "2024-02-15T00:00:00Z", "2024-03-14T23:59:59Z", "50.50000000"},
		{2, 2, "2024-02-29T12:00:00Z", "2024-03-31T11:59:59Z", "100.00000000"},
		{1, 2, "2024-03-15T00:00:00Z", "2024-04-14T23:59:59Z", "50.50000000"},
		{2, 3, "2024-03-31T12:00:00Z", "2024-04-30T11:59:59Z", "100.00000000"},
		{1, 3, "2024-04-15T00:00:00Z", "2024-05-14T23:59:59Z", "50.50000000"},
	}
	if d := gocmp.Diff(want, rows); d != "" {
		t.Errorf("installments (-want +got):\n%s", d)
	}
	total, err := reservation.Total(got)
	if err != nil || total.String() != "351.50000000" {
		t.Errorf("Total = %s, %v; want 351.50000000", total, err)
	}
}

func inst(product, start, end int64, serverType int64) cloudmeter.Span {
	st := serverType
	return cloudmeter.Span{UserID: 1, ProductID: product, Datacenter: "dc", Type: cloudmeter.ResourceInstance, State: cloudmeter.StateActive,
		Attributes: cloudmeter.Attributes{ServerTypeID: &st}, Start: start, End: end}
}

// TestCoverRanks: two reservations, three instances; the earliest provisioned are covered
// whatever their product ids, and the third takes over when one is deleted.
func TestCoverRanks(t *testing.T) {
	r1 := cloudmeter.Reservation{ID: 10, UserID: 1, ServerTypeID: 7, Datacenter: "dc", Start: 100, End: 1000, CycleMonths: 1}
	r2 := cloudmeter.Reservation{ID: 11, UserID: 1, ServerTypeID: 7, Datacenter: "dc", Start: 100, End: 1000, CycleMonths: 1}
	spans := []cloudmeter.Span{
		inst(3, 0, 499, 7), // provisioned first, deleted at 499
		inst(1, 50, cloudmeter.OpenEnd, 7),
		inst(2, 20, 300, 7), inst(2, 301, cloudmeter.OpenEnd, 7), // split by a change
		inst(4, 0, cloudmeter.OpenEnd, 8), // another server type
	}
	prov := map[int64]int64{3: 0, 2: 20, 1: 50, 4: 0}
	got := reservation.Cover(spans, []cloudmeter.Reservation{r1, r2}, prov, 0, 2000)
	want := reservation.Coverage{
		3: {{ProductID: 3, Start: 100, End: 499, Reservation: &r1}},
		2: {{ProductID: 2, Start: 100, End: 499, Reservation: &r2}, {ProductID: 2, Start: 500, End: 1000, Reservation: &r1}},
		1: {{ProductID: 1, Start: 500, End: 1000, Reservation: &r2}},
	}
	if d := gocmp.Diff(want, got, gocmp.Comparer(func(a, b *cloudmeter.Reservation) bool { return a.ID == b.ID })); d != "" {
		t.Errorf("coverage (-want +got):\n%s", d)
	}
}

// TestCoverProperties: against a second-by-second reference, on random histories: at
// each second the first min(instances, reservations) instances by (provisioned, product)
// are covered, pairwise with the reservations by (start, id); and a window's coverage is
// the whole history's clipped to it (coverage does not depend on the window).
func TestCoverProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		nInst := rapid.IntRange(0, 5).Draw(t, "instances")
		var spans []cloudmeter.Span
		prov := map[int64]int64{}
		for p := int64(1); p <= int64(nInst); p++ {
			start := rapid.Int64Range(0, 60).Draw(t, "start")
			end := rapid.Int64Range(start, 80).Draw(t, "end")
			prov[p] = start
			typ := rapid.Int64Range(7, 8).Draw(t, "type")
			for s := start; s <= end; {
				e := rapid.Int64Range(s, end).Draw(t, "split")
				spans = append(spans, inst(p, s, e, typ))
				s = e + 1
			}
		}
		var rs []cloudmeter.Reservation
		for id := int64(1); id <= int64(rapid.IntRange(0, 4).Draw(t, "reservations")); id++ {
			s := rapid.Int64Range(0, 70).Draw(t, "rstart")
			e := rapid.Int64Range(s, 90).Draw(t, "rend")
			rs = append(rs, cloudmeter.Reservation{ID: id, UserID: 1, ServerTypeID: 7, Datacenter: "dc", Start: s, End: e})
		}
		rapid.Permutation(spans)
		from := rapid.Int64Range(0, 90).Draw(t, "from")
		to := rapid.Int64Range(from, 90).Draw(t, "to")
		got := bySecond(reservation.Cover(spans, rs, prov, from, to))
		whole := bySecond(reservation.Cover(spans, rs, prov, 0, 90))
		want := map[[2]int64]int64{}
		for sec := from; sec <= to; sec++ {
			var alive []int64
			for _, sp := range spans {
				if sp.Start <= sec && sec <= sp.End && *sp.Attributes.ServerTypeID == 7 {
					alive = append(alive, sp.ProductID)
				}
			}
			slices.SortFunc(alive, func(a, b int64) int { return cmp.Or(cmp.Compare(prov[a], prov[b]), cmp.Compare(a, b)) })
			var active []cloudmeter.Reservation
			for _, r := range rs {
				if r.Start <= sec && sec <= r.End {
					active = append(active, r)
				}
			}
			slices.SortFunc(active, func(a, b cloudmeter.Reservation) int {
				return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(a.ID, b.ID))
			})
			for j := 0; j < min(len(alive), len(active)); j++ {
				want[[2]int64{alive[j], sec}] = active[j].ID
			}
			for k, v := range whole {
				if k[1] == sec && want[k] != v {
					t.Fatalf("second %d: the whole history's coverage gives %d -> %d, the window's %d", sec, k[0], v, want[k])
				}
			}
		}
		if d := gocmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("coverage by (product, second) -> reservation (-want +got):\n%s", d)
		}
	})
}

func bySecond(c reservation.Coverage) map[[2]int64]int64 {
	out := map[[2]int64]int64{}
	for prod, pieces := range c {
		for i, p := range pieces {
			if p.ProductID != prod || p.Start > p.End || (i > 0 && pieces[i-1].End >= p.Start) {
				panic("pieces out of order")
			}
			for s := p.Start; s <= p.End; s++ {
				out[[2]int64{prod, s}] = p.Reservation.ID
			}
		}
	}
	return out
}

func TestValidate(t *testing.T) {
	ok := res(0, "2024-01-31T12:00:00Z", 12, "10")
	if err := reservation.Validate(&ok, 2); err != nil {
		t.Fatalf("Validate(ok) = %v", err)
	}
	for name, c := range map[string]struct {
		mod  func(r *cloudmeter.Reservation)
		q    int
		want string
	}{
		"NoServerType":  {func(r *cloudmeter.Reservation) { r.ServerTypeID = 0 }, 1, "server_type_id: must be a server type id above 0"},
		"NegativePrice": {func(r *cloudmeter.Reservation) { r.Price = -1 }, 1, "price: -0.00000001 must not be negative"},
		"Cycle":         {func(r *cloudmeter.Reservation) { r.CycleMonths = 0 }, 1, "cycle_months: 0 must be from 1 to 120"},
		"Quantity":      {func(r *cloudmeter.Reservation) {}, 0, "quantity: 0 must be from 1 to 1000"},
		"NoDatacenter":  {func(r *cloudmeter.Reservation) { r.Datacenter = "" }, 1, "datacenter: required: the datacenter whose instances the reservation covers"},
	} {
		t.Run(name, func(t *testing.T) {
			r := ok
			c.mod(&r)
			err := reservation.Validate(&r, c.q)
			if cloudmeter.KindOf(err) != cloudmeter.KindInvalid || cloudmeter.MessageOf(err) != c.want {
				t.Errorf("Validate = %v; want invalid %q", err, c.want)
			}
		})
	}
}
