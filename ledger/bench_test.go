package ledger_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cloudmeter/cloudmeter/ledger"
)

// BenchmarkDecodeBatch decodes a batch of 1,000 provisioned events, the shape of a
// backfill, and reports the cost per event.
func BenchmarkDecodeBatch(b *testing.B) {
	const n = 1000
	var sb strings.Builder
	sb.WriteString("[")
	for i := range n {
		if i > 0 {
			sb.WriteString(",\n")
		}
		fmt.Fprintf(&sb, `{"specversion": "1.0", "id": "op-%d", "source": "provisioner/uk-reading", "time": "2016-02-01T12:58:%02dZ",
  "type": "cloudmeter.resource.provisioned",
  "data": {"product_id": %d, "resource_type": "drive", "user_id": 1, "infrastructure_id": 3668,
    "infrastructure_label": "d-lake", "datacenter": "uk-reading", "label": "drive-%d",
    "subdomain": "drive-%d.new-drive-array.d-lake.1.integration.metalsoft.io",
    "attributes": {"drive_size_mbytes": 41000, "storage_type": "iscsi_ssd"}}}`, i, i%60, 1000+i, i, i)
	}
	sb.WriteString("]")
	body := []byte(sb.String())
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		events, err := ledger.DecodeBatch("application/cloudevents-batch+json", body, ledger.Limits{MaxEvents: n})
		if err != nil || len(events) != n {
			b.Fatalf("DecodeBatch: %d events, %v", len(events), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
}
