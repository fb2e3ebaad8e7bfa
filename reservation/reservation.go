// Package reservation holds the rules of server type reservations (docs/rating.md,
// section 7): when a reservation is in force, its monthly installments, and which
// instances it covers at each second. Pure functions of the spans and the reservations
// they are given: no clock, no SQL, no HTTP.
package reservation

import (
	"cmp"
	"math/bits"
	"slices"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
)

// Limits of a reservation.
const (
	DefaultCycleMonths = 12
	MaxCycleMonths     = 120
	// MaxQuantity bounds the instances reserved by one request.
	MaxQuantity = 1000
	// UtilizationPeriod is the period, in seconds, UtilizationPrice is quoted for: the
	// measurement period of a covered record.
	UtilizationPeriod = 3600
)

// AddMonths returns t moved months calendar months on in UTC, at the same time of day:
// the same day of the month, or the month's last day when it is shorter (January 31st
// plus one month is February 28th or 29th; plus two, March 31st).
func AddMonths(t int64, months int) int64 {
	u := time.Unix(t, 0).UTC()
	y, m, d := u.Date()
	first := time.Date(y, m+time.Month(months), 1, u.Hour(), u.Minute(), u.Second(), 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(d, last)-1).Unix()
}

// End is the last second in force of a reservation that starts at start and lasts
// cycleMonths months.
func End(start int64, cycleMonths int) int64 { return AddMonths(start, cycleMonths) - 1 }

// Validate checks a reservation to be created: its user, server type, datacenter,
// prices, cycle and start, and that End is End(Start, CycleMonths).
//
// Errors: KindInvalid, naming the field and the rule.
func Validate(r *cloudmeter.Reservation, quantity int) error {
	switch {
	case r.UserID <= 0:
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "user_id: must be a user id above 0")
	case r.ServerTypeID <= 0:
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "server_type_id: must be a server type id above 0")
	case r.Price < 0:
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "price: %s must not be negative", r.Price)
	case r.UtilizationPrice < 0:
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "utilization_price: %s must not be negative", r.UtilizationPrice)
	case r.CycleMonths < 1 || r.CycleMonths > MaxCycleMonths:
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "cycle_months: %d must be from 1 to %d", r.CycleMonths, MaxCycleMonths)
	case quantity < 1 || quantity > MaxQuantity:
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "quantity: %d must be from 1 to %d", quantity, MaxQuantity)
	}
	if err := cloudmeter.CheckText("datacenter", r.Datacenter, cloudmeter.MaxNameBytes); err != nil {
		return err
	}
	if r.Datacenter == "" {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "datacenter: required: the datacenter whose instances the reservation covers")
	}
	if err := cloudmeter.CheckText("server_type_name", r.ServerTypeName, cloudmeter.MaxNameBytes); err != nil {
		return err
	}
	if y := time.Unix(r.Start, 0).UTC().Year(); y < 1970 || y > 9000 {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "start: %s must be from 1970 to 9000", cloudmeter.FormatTime(r.Start))
	}
	if r.End != End(r.Start, r.CycleMonths) {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "end: %s must be %d months after start %s, minus one second",
			cloudmeter.FormatTime(r.End), r.CycleMonths, cloudmeter.FormatTime(r.Start))
	}
	return nil
}

// Status says where a reservation stands at now: "pending" before its start, "active"
// while in force, "expired" after its end.
func Status(r *cloudmeter.Reservation, now int64) string {
	switch {
	case now < r.Start:
		return "pending"
	case now > r.End:
		return "expired"
	}
	return "active"
}

// Installment is one monthly payment of a reservation: it pays for [Start, End] and is
// due at Start.
type Installment struct {
	Reservation *cloudmeter.Reservation
	// Number counts the reservation's installments from 1.
	Number     int
	Start, End int64
	Cost       money.Amount
}

// Installments returns the installments of rs due within [from, to] (their Start in it),
// ordered by start, then reservation id.
func Installments(rs []cloudmeter.Reservation, from, to int64) []Installment {
	var out []Installment
	for i := range rs {
		r := &rs[i]
		if r.End < from || r.Start > to {
			continue
		}
		for k := 0; k < r.CycleMonths; k++ {
			start := AddMonths(r.Start, k)
			if start > to {
				break
			}
			if start < from {
				continue
			}
			out = append(out, Installment{Reservation: r, Number: k + 1, Start: start, End: AddMonths(r.Start, k+1) - 1, Cost: r.Price})
		}
	}
	slices.SortStableFunc(out, func(a, b Installment) int {
		return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(a.Reservation.ID, b.Reservation.ID))
	})
	return out
}

// Total sums installments.
//
// Errors: KindInvalid when the sum does not fit the money type.
func Total(in []Installment) (money.Amount, error) {
	var t money.Amount
	for _, i := range in {
		var err error
		if t, err = t.Add(i.Cost); err != nil {
			return 0, cloudmeter.Errorf(cloudmeter.KindInvalid, "reservation installments: the total does not fit: %v", err)
		}
	}
	return t, nil
}

// Matches reports whether a reservation may cover a span: an instance of the
// reservation's user, server type and datacenter that is billed (not excluded from
// billing), whatever its power state.
func Matches(sp *cloudmeter.Span, r *cloudmeter.Reservation) bool {
	return sp.Type == cloudmeter.ResourceInstance && !sp.ExcludeBilling && sp.UserID == r.UserID && sp.Datacenter == r.Datacenter &&
		sp.Attributes.ServerTypeID != nil && *sp.Attributes.ServerTypeID == r.ServerTypeID
}

// Piece is a stretch [Start, End] of one instance covered by one reservation.
type Piece struct {
	ProductID   int64
	Start, End  int64
	Reservation *cloudmeter.Reservation
}

// Coverage holds the covered pieces of each instance, ordered by start.
type Coverage map[int64][]Piece

// Cover says which instances the reservations rs cover, second by second, within
// [from, to]. At each second, the instances that match a group of reservations (same
// user, server type and datacenter) are ranked by when they were provisioned
// (provisioned, by product id; a product missing there ranks by its first span), then by
// product id; the reservations in force by start, then id. The first reservation covers
// the first instance, the second the second, and so on; instances past the number of
// reservations are not covered. So coverage at a second depends only on what runs and
// what is in force at that second: the same whatever window is asked for.
//
// spans may be in any order; spans that match no reservation are ignored.
func Cover(spans []cloudmeter.Span, rs []cloudmeter.Reservation, provisioned map[int64]int64, from, to int64) Coverage {
	type group struct {
		userID, serverType int64
		datacenter         string
	}
	groups := map[group][]int{} // group -> indexes of its reservations in rs
	var order []group
	for i := range rs {
		r := &rs[i]
		if r.End < from || r.Start > to {
			continue
		}
		g := group{r.UserID, r.ServerTypeID, r.Datacenter}
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], i)
	}
	if len(groups) == 0 {
		return nil
	}
	out := Coverage{}
	for _, g := range order {
		var insts []interval
		firstStart := map[int64]int64{}
		for i := range spans {
			sp := &spans[i]
			if !Matches(sp, &rs[groups[g][0]]) {
				continue
			}
			s, e := max(sp.Start, from), min(sp.End, to)
			if s > e {
				continue
			}
			if fs, ok := firstStart[sp.ProductID]; !ok || sp.Start < fs {
				firstStart[sp.ProductID] = sp.Start
			}
			insts = append(insts, interval{product: sp.ProductID, start: s, end: e})
		}
		if len(insts) == 0 {
			continue
		}
		for i := range insts {
			if p, ok := provisioned[insts[i].product]; ok {
				insts[i].rank = p
			} else {
				insts[i].rank = firstStart[insts[i].product]
			}
		}
		var resv []interval
		for _, ri := range groups[g] {
			r := &rs[ri]
			resv = append(resv, interval{product: r.ID, rank: r.Start, start: max(r.Start, from), end: min(r.End, to), res: r})
		}
		coverGroup(insts, resv, out)
	}
	return out
}

// interval is an instance's or a reservation's stretch within the window. rank and
// product (the reservation's id) order them.
type interval struct {
	product, rank int64
	start, end    int64
	res           *cloudmeter.Reservation
}

// coverGroup sweeps one group's instance and reservation intervals in time order and
// appends the covered pieces to out. Instances are ordered by (rank, product),
// reservations by (rank = start, id).
//
// The running instances are counted in a Fenwick tree over their order, so finding the
// first ones, and whether a change of one can change the pairing at all (only one ranked
// before the number of reservations in force can), costs O(log n), not a pass over all.
func coverGroup(insts, resv []interval, out Coverage) {
	// order: the distinct products by (rank, product); pos: a product's index in it.
	type prodRank struct{ product, rank int64 }
	var order []prodRank
	pos := map[int64]int{}
	for _, iv := range insts {
		if _, ok := pos[iv.product]; !ok {
			pos[iv.product] = 0
			order = append(order, prodRank{iv.product, iv.rank})
		}
	}
	slices.SortFunc(order, func(a, b prodRank) int { return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(a.product, b.product)) })
	for i, pr := range order {
		pos[pr.product] = i
	}
	alive := newFenwick(len(order))

	type point struct {
		at  int64
		add bool
		res bool
		i   int
	}
	points := make([]point, 0, 2*(len(insts)+len(resv)))
	for i, iv := range insts {
		points = append(points, point{iv.start, true, false, i}, point{iv.end + 1, false, false, i})
	}
	for i, iv := range resv {
		points = append(points, point{iv.start, true, true, i}, point{iv.end + 1, false, true, i})
	}
	// At one second, what ends leaves before what starts comes in: a product's next span
	// takes the place of the one before.
	slices.SortFunc(points, func(a, b point) int {
		return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(boolInt(a.add), boolInt(b.add)))
	})
	var active []int // indexes of resv in force, by (start, id)
	byStart := func(a, b int) int {
		return cmp.Or(cmp.Compare(resv[a].rank, resv[b].rank), cmp.Compare(resv[a].product, resv[b].product))
	}

	type open struct {
		res   *cloudmeter.Reservation
		start int64
	}
	opened := map[int64]open{} // product -> its piece in progress
	var prevP []int            // the pairing in force: order index and reservation by position
	var prevR []*cloudmeter.Reservation
	var newP []int
	var newR []*cloudmeter.Reservation
	kept := make([]int, len(order)) // the round in which a product was paired at a changed position
	round := 0
	closePiece := func(prod int64, end int64) {
		o := opened[prod]
		out[prod] = append(out[prod], Piece{ProductID: prod, Start: o.start, End: end, Reservation: o.res})
		delete(opened, prod)
	}
	for k := 0; k < len(points); {
		at := points[k].at
		dirty := false
		for ; k < len(points) && points[k].at == at; k++ {
			p := points[k]
			if p.res {
				ix, ok := slices.BinarySearchFunc(active, p.i, byStart)
				if p.add {
					active = slices.Insert(active, ix, p.i)
				} else if ok {
					active = slices.Delete(active, ix, ix+1)
				}
				dirty = true
				continue
			}
			i := pos[insts[p.i].product]
			if alive.prefix(i) < max(len(active), len(prevP)) {
				dirty = true
			}
			if p.add {
				alive.add(i, 1)
			} else {
				alive.add(i, -1)
			}
		}
		if !dirty {
			continue
		}
		n := min(alive.total, len(active))
		newP, newR = newP[:0], newR[:0]
		for j := 0; j < n; j++ {
			newP = append(newP, alive.find(j+1))
			newR = append(newR, resv[active[j]].res)
		}
		// Only the positions whose pair changed need work: the new pairs there keep their
		// piece when the product already had one with that reservation (it moved along
		// with it), else start one; the old ones there end unless kept.
		round++
		for j := 0; j < n; j++ {
			if j < len(prevP) && newP[j] == prevP[j] && newR[j] == prevR[j] {
				continue
			}
			prod := order[newP[j]].product
			kept[newP[j]] = round
			if o, ok := opened[prod]; ok {
				if o.res == newR[j] {
					continue
				}
				closePiece(prod, at-1)
			}
			opened[prod] = open{res: newR[j], start: at}
		}
		for j := range prevP {
			if j < n && newP[j] == prevP[j] && newR[j] == prevR[j] {
				continue
			}
			if kept[prevP[j]] != round {
				closePiece(order[prevP[j]].product, at-1)
			}
		}
		prevP, newP = newP, prevP
		prevR, newR = newR, prevR
	}
	// Every interval ends before the last point, so nothing is left open.
}

// fenwick counts the running instances by their order index.
type fenwick struct {
	tree  []int
	total int
}

func newFenwick(n int) *fenwick { return &fenwick{tree: make([]int, n+1)} }

// add adds d at index i.
func (f *fenwick) add(i, d int) {
	f.total += d
	for i++; i < len(f.tree); i += i & -i {
		f.tree[i] += d
	}
}

// prefix counts the entries at indexes below i.
func (f *fenwick) prefix(i int) int {
	n := 0
	for ; i > 0; i -= i & -i {
		n += f.tree[i]
	}
	return n
}

// find returns the index of the k-th entry (k from 1), which must exist.
func (f *fenwick) find(k int) int {
	i := 0
	for step := 1 << bits.Len(uint(len(f.tree)-1)); step > 0; step >>= 1 {
		if next := i + step; next < len(f.tree) && f.tree[next] < k {
			i = next
			k -= f.tree[next]
		}
	}
	return i
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
