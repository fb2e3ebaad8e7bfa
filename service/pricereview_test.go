package service_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/internal/storeopen"
	"github.com/cloudmeter/cloudmeter/ledger"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/service"
)

// TestPriceReviewProperty: for random instances of a few users over a few months and two
// random price books, the review's month totals are, to the last digit, the totals of the
// reports of those months with each book (the second read after it is forced in), the
// review of the book in force against itself changes nothing, and an empty book leaves
// unpriced exactly each product's seconds of each month, so that its put is refused.
func TestPriceReviewProperty(t *testing.T) {
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	now := time.Date(2024, 5, 10, 0, 0, 0, 0, time.UTC).Unix()
	rapid.Check(t, func(rt *rapid.T) {
		ctx := context.Background()
		st, err := storeopen.Open(ctx, t.TempDir(), "")
		if err != nil {
			rt.Fatal(err)
		}
		defer st.Close()
		svc := service.New(st, service.Options{Now: func() time.Time { return time.Unix(now, 0) }})
		book := func(price string, userPrice string) []byte {
			return fmt.Appendf(nil, `{"currency":"GBP","entries":[{"resource_type":"instance","price":%q,"unit":"item","period_seconds":3600},
				{"resource_type":"instance","user_id":2,"price":%q,"unit":"item","period_seconds":86400}]}`, price, userPrice)
		}
		price := func(label string) string {
			return fmt.Sprintf("%d.%03d", rapid.IntRange(0, 3).Draw(rt, label+"-units"), rapid.IntRange(0, 999).Draw(rt, label+"-millis"))
		}
		a := book(price("a"), price("a-user"))
		if _, err := svc.PutPrices(ctx, service.SystemKey, a); err != nil {
			rt.Fatal(err)
		}
		n := rapid.IntRange(1, 5).Draw(rt, "instances")
		for i := range n {
			product := int64(100 + i)
			user := rapid.Int64Range(1, 3).Draw(rt, "user")
			start := base + rapid.Int64Range(0, now-base).Draw(rt, "start")
			body := fmt.Sprintf(`[{"specversion":"1.0","id":"p-%d","source":"test/review","type":"cloudmeter.resource.provisioned","time":%q,
				"data":{"product_id":%d,"resource_type":"instance","user_id":%d,"infrastructure_id":%d,"infrastructure_label":"i","datacenter":"dc",
				"label":"vm","subdomain":"vm.i","attributes":{}}}`, product, cloudmeter.FormatTime(start), product, user, user)
			if rapid.Bool().Draw(rt, "deleted") {
				end := start + rapid.Int64Range(0, 90*86400).Draw(rt, "life")
				body += fmt.Sprintf(`,{"specversion":"1.0","id":"d-%d","source":"test/review","type":"cloudmeter.resource.deleted","time":%q,"data":{"product_id":%d}}`,
					product, cloudmeter.FormatTime(end), product)
			}
			events, err := ledger.DecodeBatch("application/json", []byte(body+"]"), ledger.Limits{MaxEvents: 10})
			if err != nil {
				rt.Fatal(err)
			}
			if _, err := svc.Ingest(ctx, service.SystemKey, events); err != nil {
				rt.Fatal(err)
			}
		}
		monthTotal := func(user, month int64) money.Amount {
			end := time.Unix(month, 0).UTC().AddDate(0, 1, 0).Unix() - 1
			u, err := svc.Utilization(ctx, service.SystemKey, service.ReportRequest{UserID: user, Start: month, End: end})
			if err != nil {
				rt.Fatal(err)
			}
			return u.Total
		}

		same, err := svc.ReviewPrices(ctx, service.SystemKey, a)
		if err != nil {
			rt.Fatal(err)
		}
		if len(same.Unpriced) != 0 || same.TotalBefore != same.TotalAfter || len(same.Months) == 0 {
			rt.Fatalf("the book in force against itself: %+v", same)
		}
		for _, m := range same.Months {
			if m.Before != m.After || m.Before != monthTotal(m.UserID, m.Month) {
				rt.Fatalf("user %d month %s: before %s after %s, report %s", m.UserID, cloudmeter.FormatTime(m.Month), m.Before, m.After, monthTotal(m.UserID, m.Month))
			}
		}

		b := book(price("b"), price("b-user"))
		rv, err := svc.ReviewPrices(ctx, service.SystemKey, b)
		if err != nil {
			rt.Fatal(err)
		}
		if len(rv.Unpriced) != 0 {
			rt.Fatalf("book b prices every instance, yet: %v", rv.Unpriced)
		}
		if _, err := svc.PutPrices(ctx, service.SystemKey, b); err != nil {
			rt.Fatal(err)
		}
		var sum money.Amount
		for i, m := range rv.Months {
			if m.Before != same.Months[i].Before || m.After != monthTotal(m.UserID, m.Month) {
				rt.Fatalf("user %d month %s: review %s -> %s, reports %s -> %s", m.UserID, cloudmeter.FormatTime(m.Month), m.Before, m.After,
					same.Months[i].Before, monthTotal(m.UserID, m.Month))
			}
			sum, _ = sum.Add(m.After)
		}
		if sum != rv.TotalAfter {
			rt.Fatalf("months sum to %s, total after %s", sum, rv.TotalAfter)
		}

		empty := []byte(`{"currency":"GBP","entries":[]}`)
		ev, err := svc.ReviewPrices(ctx, service.SystemKey, empty)
		if err != nil {
			rt.Fatal(err)
		}
		var seconds, unpriced int64
		for _, m := range ev.Months {
			end := time.Unix(m.Month, 0).UTC().AddDate(0, 1, 0).Unix() - 1
			u, _ := svc.Utilization(ctx, service.SystemKey, service.ReportRequest{UserID: m.UserID, Start: m.Month, End: end})
			for _, r := range u.Records {
				seconds += r.Quantity
			}
		}
		for _, x := range ev.Unpriced {
			unpriced += x.Seconds
		}
		if seconds != unpriced || ev.TotalAfter != 0 {
			rt.Fatalf("an empty book leaves %d s unpriced of %d s, total after %s", unpriced, seconds, ev.TotalAfter)
		}
		_, err = svc.PutPrices(ctx, service.SystemKey, empty)
		if cloudmeter.KindOf(err) != cloudmeter.KindConflict && seconds > 0 {
			rt.Fatalf("put of an empty book: %v, want a conflict", err)
		}
	})
}
