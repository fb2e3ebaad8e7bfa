package httpapi

import (
	"net/http"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/service"
)

// queryBool reads an optional true/false query parameter.
//
// Errors: KindInvalid naming the parameter.
func queryBool(r *http.Request, name string) (bool, error) {
	switch v := r.URL.Query().Get(name); v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, cloudmeter.Errorf(cloudmeter.KindInvalid, "query parameter %s: must be true or false, not %q", name, v)
	}
}

// priceReviewJSON is the answer of PUT /api/v1/prices?dry_run=true.
type priceReviewJSON struct {
	DryRun         bool                     `json:"dry_run"`
	CurrentVersion int64                    `json:"current_version"`
	CurrencyBefore *string                  `json:"currency_before"`
	CurrencyAfter  string                   `json:"currency_after"`
	Entries        int                      `json:"entries"`
	Months         []monthReviewJSON        `json:"months"`
	TotalBefore    string                   `json:"total_before"`
	TotalAfter     string                   `json:"total_after"`
	Unpriced       []service.UnpricedDetail `json:"newly_unpriced"`
	Refused        *string                  `json:"refused"`
}

type monthReviewJSON struct {
	UserID     int64  `json:"user_id"`
	Month      string `json:"month"`
	Before     string `json:"before"`
	After      string `json:"after"`
	Difference string `json:"difference"`
}

func toPriceReviewJSON(rv *service.PriceReview) priceReviewJSON {
	month := func(m int64) string { return time.Unix(m, 0).UTC().Format("2006-01") }
	out := priceReviewJSON{DryRun: true, CurrentVersion: rv.CurrentVersion, CurrencyAfter: rv.CurrencyAfter, Entries: len(rv.Proposed.Entries),
		Months: []monthReviewJSON{}, TotalBefore: rv.TotalBefore.String(), TotalAfter: rv.TotalAfter.String(), Unpriced: rv.Details()}
	if rv.CurrencyBefore != "" {
		out.CurrencyBefore = &rv.CurrencyBefore
	}
	for _, m := range rv.Months {
		out.Months = append(out.Months, monthReviewJSON{UserID: m.UserID, Month: month(m.Month), Before: m.Before.String(), After: m.After.String(),
			Difference: m.Difference().String()})
	}
	if err := rv.Refusal(); err != nil {
		msg := cloudmeter.MessageOf(err)
		out.Refused = &msg
	}
	return out
}
