package service

import (
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/rating"
	"github.com/cloudmeter/cloudmeter/report"
	"github.com/cloudmeter/cloudmeter/reservation"
)

// TestDailyCostsAddUp: the days of a graph add up to the cost of its records exactly,
// every day of the window has one point, and no day is negative.
func TestDailyCostsAddUp(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		from := rapid.Int64Range(0, 4_000_000_000).Draw(t, "from")
		to := from + rapid.Int64Range(0, 90*SecondsPerDay).Draw(t, "length")
		var recs []report.Record
		var total money.Amount
		at := from
		for i := range rapid.IntRange(0, 6).Draw(t, "records") {
			start := at + rapid.Int64Range(0, 5*SecondsPerDay).Draw(t, "gap")
			if start > to {
				break
			}
			end := min(to, start+rapid.Int64Range(0, 20*SecondsPerDay).Draw(t, "span"))
			cpu := money.Amount(rapid.Int64Range(0, 1_000_000_000).Draw(t, "cpu"))
			period := rapid.SampledFrom([]int64{3600, 2592000}).Draw(t, "period")
			r := report.Record{Segment: rating.Segment{Span: cloudmeter.Span{ProductID: int64(i), Start: start, End: end}, CostPerUnit: cpu, MeasurementPeriod: period},
				Quantity: end - start + 1}
			r.Cost, _ = money.Cost(r.Quantity, period, cpu)
			total += r.Cost
			recs = append(recs, r)
			at = end + 1
		}
		days, err := DailyCosts(recs, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if want := (DayStart(to)-DayStart(from))/SecondsPerDay + 1; int64(len(days)) != want {
			t.Fatalf("%d days, want %d", len(days), want)
		}
		var sum money.Amount
		for i, d := range days {
			if d.Day != DayStart(from)+int64(i)*SecondsPerDay || d.Cost < 0 {
				t.Fatalf("day %d: %+v", i, d)
			}
			sum += d.Cost
		}
		if sum != total {
			t.Fatalf("the days add up to %s, the records to %s", sum, total)
		}
	})
}

func TestDailyCostsSplit(t *testing.T) {
	// 0.31 an hour from 2016-02-01T12:58:00Z to 2016-02-02T12:23:00Z (the seed's instance):
	// 11 h 2 min the first day, 12 h 23 min 1 s the second.
	r := report.Record{Segment: rating.Segment{Span: cloudmeter.Span{Start: 1454331480, End: 1454415780}, CostPerUnit: 31000000, MeasurementPeriod: 3600},
		Quantity: 84301, Cost: 725925278}
	days, err := DailyCosts([]report.Record{r}, 1454284800, 1454457599)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"3.42033333", "3.83891945", "0.00000000"}
	for i, d := range days {
		if d.Cost.String() != want[i] {
			t.Errorf("day %d: %s, want %s", i, d.Cost, want[i])
		}
	}
}

func TestDuration(t *testing.T) {
	for _, c := range []struct {
		seconds, unit int64
		want          string
	}{{2821, 60, "47.01666667"}, {3600, 3600, "1.00000000"}, {1, 3600, "0.00027778"}, {0, 60, "0.00000000"}} {
		if got := Duration(c.seconds, c.unit).String(); got != c.want {
			t.Errorf("Duration(%d, %d) = %s, want %s", c.seconds, c.unit, got, c.want)
		}
	}
}

func TestGrouped(t *testing.T) {
	sp := func(p, s int64) cloudmeter.Span { return cloudmeter.Span{ProductID: p, Start: s} }
	for _, c := range []struct {
		spans []cloudmeter.Span
		want  bool
	}{
		{nil, true},
		{[]cloudmeter.Span{sp(2, 1), sp(2, 5), sp(1, 0)}, true},
		{[]cloudmeter.Span{sp(2, 1), sp(1, 0), sp(2, 5)}, false},
		{[]cloudmeter.Span{sp(2, 5), sp(2, 1)}, false},
	} {
		if got := grouped(c.spans); got != c.want {
			t.Errorf("grouped(%v) = %v", c.spans, got)
		}
	}
}

// TestCoverCuts: the covered stretches of a product add their causes between those of its
// spans: where one begins (another reservation taking over included) and where coverage
// ends; at one second the cause of the span or price change wins, and a beginning wins
// over an end; a stretch covered from before the window adds no beginning.
func TestCoverCuts(t *testing.T) {
	r1, r2 := &cloudmeter.Reservation{ID: 1}, &cloudmeter.Reservation{ID: 2}
	spans := []cut{{100, CauseProvisioned}, {200, CauseStopped}, {300, CausePriceChanged}, {500, CauseStarted}}
	pieces := []reservation.Piece{
		{ProductID: 9, Start: 49, End: 79, Reservation: r1}, // from before the window, which starts at 50
		{ProductID: 9, Start: 150, End: 249, Reservation: r1},
		{ProductID: 9, Start: 250, End: 399, Reservation: r2},
		{ProductID: 9, Start: 500, End: 599, Reservation: r1},
	}
	got := coverCuts(slices.Clone(spans), pieces, 50)
	want := []cut{{80, CauseReservationEnded}, {100, CauseProvisioned}, {150, CauseReserved}, {200, CauseStopped}, {250, CauseReserved},
		{300, CausePriceChanged}, {400, CauseReservationEnded}, {500, CauseStarted}, {600, CauseReservationEnded}}
	if !slices.Equal(got, want) {
		t.Errorf("coverCuts:\n got  %v\n want %v", got, want)
	}
	if got := coverCuts(slices.Clone(spans), nil, 50); !slices.Equal(got, spans) {
		t.Errorf("without coverage: %v, want the spans' own %v", got, spans)
	}
}

// TestCoverable: one span stands for each user, server type and datacenter of the
// instances a reservation may cover; drives, instances excluded from billing and those
// without a server type are left out.
func TestCoverable(t *testing.T) {
	st := func(id int64) cloudmeter.Attributes { return cloudmeter.Attributes{ServerTypeID: &id} }
	spans := []cloudmeter.Span{
		{ProductID: 1, UserID: 7, Type: cloudmeter.ResourceInstance, Datacenter: "a", Attributes: st(4)},
		{ProductID: 1, UserID: 7, Type: cloudmeter.ResourceInstance, Datacenter: "a", Attributes: st(4)},
		{ProductID: 2, UserID: 8, Type: cloudmeter.ResourceInstance, Datacenter: "a", Attributes: st(4)},
		{ProductID: 3, UserID: 7, Type: cloudmeter.ResourceInstance, Datacenter: "b", Attributes: st(4)},
		{ProductID: 4, UserID: 7, Type: cloudmeter.ResourceInstance, Datacenter: "a", Attributes: st(4)},
		{ProductID: 4, UserID: 7, Type: cloudmeter.ResourceInstance, Datacenter: "a", Attributes: st(5)},
		{ProductID: 5, UserID: 7, Type: cloudmeter.ResourceInstance, Datacenter: "a", Attributes: st(6), ExcludeBilling: true},
		{ProductID: 6, UserID: 7, Type: cloudmeter.ResourceInstance, Datacenter: "a"},
		{ProductID: 7, UserID: 7, Type: cloudmeter.ResourceDrive, Datacenter: "a", Attributes: st(7)},
	}
	got := map[int64][]int{}
	for user, kinds := range coverable(spans) {
		for _, sp := range kinds {
			got[user] = append(got[user], int(sp.ProductID)*10+int(*sp.Attributes.ServerTypeID))
		}
	}
	want := map[int64][]int{7: {14, 34, 45}, 8: {24}}
	if len(got) != len(want) || !slices.Equal(got[7], want[7]) || !slices.Equal(got[8], want[8]) {
		t.Errorf("coverable: %v, want %v (product x 10 + server type, by user)", got, want)
	}
}
