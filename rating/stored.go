package rating

import (
	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/ledger"
)

// Rate is the cloudmeter.RateFunc that storage rates products with: it completes the
// typed fields of events read back from storage (which keeps their data as JSON) and
// meters them with Meter. It is where the ledger's stored form and rating meet. Replay
// and Resume (resume.go) give the same rating incrementally.
func Rate(productID int64, events []cloudmeter.Event) cloudmeter.Rating {
	ok, bad := decodeStored(productID, events)
	r := Meter(productID, ok)
	for i := range bad {
		if r.Resource != nil {
			bad[i].UserID = r.Resource.UserID
		}
	}
	r.Anomalies = append(r.Anomalies, bad...)
	return r
}

// decodeData completes an event's typed fields from its stored data.
var decodeData = ledger.DecodeData
