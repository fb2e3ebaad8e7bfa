package reservation_test

import (
	"testing"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/reservation"
)

// BenchmarkCover: a month's window over 10,000 instances of one server type, each split
// in four spans, with 100 reservations starting a day apart: what a report of a large
// user computes.
func BenchmarkCover(b *testing.B) {
	const month = 30 * 86400
	var spans []cloudmeter.Span
	prov := map[int64]int64{}
	for p := int64(1); p <= 10000; p++ {
		start := (p * 7919) % month
		prov[p] = start
		for k := int64(0); k < 4; k++ {
			spans = append(spans, inst(p, start+k*month/4, start+(k+1)*month/4-1, 7))
		}
	}
	var rs []cloudmeter.Reservation
	for id := int64(1); id <= 100; id++ {
		rs = append(rs, cloudmeter.Reservation{ID: id, UserID: 1, ServerTypeID: 7, Datacenter: "dc", Start: id * 86400, End: id*86400 + 2*month})
	}
	b.ReportAllocs()
	for b.Loop() {
		if c := reservation.Cover(spans, rs, prov, 0, month); len(c) == 0 {
			b.Fatal("nothing covered")
		}
	}
}
