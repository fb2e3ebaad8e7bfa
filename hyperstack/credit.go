package hyperstack

import (
	"net/http"

	"github.com/cloudmeter/cloudmeter"
)

// CreditPath is the route of an organization's prepaid credit.
const CreditPath = Prefix + "user-credit/credit"

// creditResponse answers GET /billing/user-credit/credit.
type creditResponse struct {
	envelope
	Data creditData `json:"data"`
}

type creditData struct {
	Credit            Number `json:"credit"`
	Threshold         Number `json:"threshold"`
	CanCreateInstance bool   `json:"can_create_instance"`
}

// credit answers GET /billing/user-credit/credit: the prepaid credit of the caller's
// organization (or, with utilization_reports_read, of organization_id) as of now: its
// balance less what its users' usage cost since its spend start, computed from the
// ledger at this request (service.Credit); its threshold; and whether it may create an
// instance (false once the credit is below the threshold). An organization that was
// never topped up and has no settings is not prepaid: 0, 0, true.
func (a *api) credit(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	org, err := orgParam(r.URL.Query())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v, err := a.svc.Credit(r.Context(), key, org, false)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, creditResponse{envelope: ok(), Data: creditData{Credit: Number(v.Credit), Threshold: Number(v.Account.Threshold),
		CanCreateInstance: v.CanCreateInstance}})
}
