package service_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/internal/storeopen"
	"github.com/cloudmeter/cloudmeter/ledger"
	"github.com/cloudmeter/cloudmeter/service"
)

// TestAnomaliesByProduct: for random resources of a few users, some in a datacenter the
// book does not price (unpriced usage) and some provisioned twice (a stored anomaly),
// the anomalies asked for by product (read by product) are those of the whole list for
// that product, and a list cut by a limit is the start of the whole list.
func TestAnomaliesByProduct(t *testing.T) {
	now := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	rapid.Check(t, func(rt *rapid.T) {
		ctx := context.Background()
		st, err := storeopen.Open(ctx, t.TempDir(), "")
		if err != nil {
			rt.Fatal(err)
		}
		defer st.Close()
		svc := service.New(st, service.Options{Now: func() time.Time { return now }})
		if _, err := svc.PutPrices(ctx, service.SystemKey, []byte(`{"currency":"GBP","entries":[
			{"resource_type":"instance","datacenter":"priced","price":"0.31","unit":"item","period_seconds":3600}]}`)); err != nil {
			rt.Fatal(err)
		}
		n := rapid.IntRange(1, 6).Draw(rt, "products")
		var products []int64
		for i := range n {
			product := int64(500 + i)
			products = append(products, product)
			dc := rapid.SampledFrom([]string{"priced", "unpriced"}).Draw(rt, "datacenter")
			user := rapid.Int64Range(1, 3).Draw(rt, "user")
			at := base + rapid.Int64Range(0, 90*86400).Draw(rt, "start")
			provision := func(id string, t int64) string {
				return fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"test/anomalies","type":"cloudmeter.resource.provisioned","time":%q,
					"data":{"product_id":%d,"resource_type":"instance","user_id":%d,"infrastructure_id":%d,"infrastructure_label":"i","datacenter":%q,
					"label":"vm","subdomain":"vm.i","attributes":{}}}`, id, cloudmeter.FormatTime(t), product, user, user, dc)
			}
			body := "[" + provision(fmt.Sprintf("p-%d", product), at)
			if rapid.Bool().Draw(rt, "provisioned twice") {
				body += "," + provision(fmt.Sprintf("p2-%d", product), at+3600)
			}
			if rapid.Bool().Draw(rt, "stopped") {
				body += fmt.Sprintf(`,{"specversion":"1.0","id":"s-%d","source":"test/anomalies","type":"cloudmeter.resource.stopped","time":%q,"data":{"product_id":%d,"state":"stopped"}}`,
					product, cloudmeter.FormatTime(at+7200), product)
			}
			events, err := ledger.DecodeBatch("application/json", []byte(body+"]"), ledger.Limits{MaxEvents: 10})
			if err != nil {
				rt.Fatal(err)
			}
			if _, err := svc.Ingest(ctx, service.SystemKey, events); err != nil {
				rt.Fatal(err)
			}
		}
		all, err := svc.Anomalies(ctx, service.SystemKey, cloudmeter.AnomalyQuery{})
		if err != nil {
			rt.Fatal(err)
		}
		for _, p := range append(products, 999) {
			got, err := svc.Anomalies(ctx, service.SystemKey, cloudmeter.AnomalyQuery{ProductID: p})
			if err != nil {
				rt.Fatal(err)
			}
			want := slices.DeleteFunc(slices.Clone(all), func(a cloudmeter.Anomaly) bool { return a.ProductID != p })
			if !slices.Equal(got, want) {
				rt.Fatalf("product %d: got %+v, want %+v", p, got, want)
			}
		}
		if len(all) > 1 {
			limit := rapid.IntRange(1, len(all)-1).Draw(rt, "limit")
			got, err := svc.Anomalies(ctx, service.SystemKey, cloudmeter.AnomalyQuery{Limit: limit})
			if err != nil {
				rt.Fatal(err)
			}
			if !slices.Equal(got, all[:limit]) {
				rt.Fatalf("limit %d: got %+v, want the first %d of %+v", limit, got, limit, all)
			}
		}
	})
}
