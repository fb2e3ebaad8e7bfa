package rating

import (
	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/ledger"
)

// Rate is the cloudmeter.RateFunc that storage rates products with: it completes the
// typed fields of events read back from storage (which keeps their data as JSON) and
// meters them with Meter. It is where the ledger's stored form and rating meet.
func Rate(productID int64, events []cloudmeter.Event) cloudmeter.Rating {
	var bad []cloudmeter.Anomaly
	ok := events[:0:0]
	for _, e := range events {
		if e.Digest != "" && e.Provision == nil && e.State == "" && e.Traffic == nil && len(e.Data) > 0 && e.Attributes == (cloudmeter.Attributes{}) {
			if err := ledger.DecodeData(&e); err != nil {
				// Stored events were validated on the way in; one that no longer decodes is
				// shown, never dropped silently.
				bad = append(bad, cloudmeter.Anomaly{ProductID: productID, Kind: cloudmeter.AnomalyNotApplicable,
					Message: "stored event no longer decodes: " + err.Error(), EventSource: e.Source, EventID: e.ID, Time: e.Time})
				continue
			}
		}
		ok = append(ok, e)
	}
	r := Meter(productID, ok)
	for i := range bad {
		if r.Resource != nil {
			bad[i].UserID = r.Resource.UserID
		}
	}
	r.Anomalies = append(r.Anomalies, bad...)
	return r
}
