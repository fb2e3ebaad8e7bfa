package httpapi

import (
	"net/http"
	"strings"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/service"
)

// Organizations and prepaid credit: a user's organization (GET, PUT
// /api/v1/users/{user_id}/organization) and an organization's credit (GET, and POST to
// top it up, /api/v1/organizations/{organization_id}/credit; PUT .../credit/settings).

type membershipJSON struct {
	UserID         int64   `json:"user_id"`
	OrganizationID int64   `json:"organization_id"`
	Users          []int64 `json:"users"`
}

func toMembershipJSON(m service.Membership) membershipJSON {
	out := membershipJSON{UserID: m.UserID, OrganizationID: m.OrganizationID, Users: m.Users}
	if out.Users == nil {
		out.Users = []int64{}
	}
	return out
}

// parseAmount reads an amount sent as a decimal string (never a JSON number, which a
// client may have rounded through a float).
func parseAmount(field string, s *string) (money.Amount, error) {
	if s == nil {
		return 0, cloudmeter.Errorf(cloudmeter.KindInvalid, "%s: required: a decimal string of at most 8 decimal places, such as \"100.00\"", field)
	}
	a, err := money.ParseAmount(*s)
	if err != nil {
		return 0, cloudmeter.Errorf(cloudmeter.KindInvalid, "%s: %s: it must be a decimal string of at most 8 decimal places, such as \"100.00\"",
			field, strings.TrimPrefix(err.Error(), "money: "))
	}
	return a, nil
}

func (a *API) getOrganization(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	user, err := pathInt(r, "user_id")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	m, err := a.svc.Organization(r.Context(), key, user)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, toMembershipJSON(m))
}

func (a *API) putOrganization(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	var in struct {
		OrganizationID *int64 `json:"organization_id"`
	}
	user, ok := a.adminWrite(w, r, key, "user_id", &in, `{"organization_id": N}`)
	if !ok {
		return
	}
	if in.OrganizationID == nil {
		a.fail(w, r, cloudmeter.Errorf(cloudmeter.KindInvalid, "organization_id: required (the user's own id puts it back in its own organization)"))
		return
	}
	m, err := a.svc.SetOrganization(r.Context(), key, user, *in.OrganizationID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, toMembershipJSON(m))
}

type topUpJSON struct {
	Seq    int64  `json:"seq"`
	Amount string `json:"amount"`
	At     string `json:"at"`
	ByKey  string `json:"by_key"`
	ByUser int64  `json:"by_user"`
	Note   string `json:"note"`
}

func toTopUpJSON(t cloudmeter.CreditTopUp) topUpJSON {
	return topUpJSON{Seq: t.Seq, Amount: t.Amount.String(), At: cloudmeter.FormatTime(t.At), ByKey: t.ByKey, ByUser: t.ByUser, Note: t.Note}
}

type creditJSON struct {
	OrganizationID    int64       `json:"organization_id"`
	Users             []int64     `json:"users"`
	Currency          string      `json:"currency"`
	Prepaid           bool        `json:"prepaid"`
	Balance           string      `json:"balance"`
	Spend             string      `json:"spend"`
	Credit            string      `json:"credit"`
	Threshold         string      `json:"threshold"`
	CanCreateInstance bool        `json:"can_create_instance"`
	SpendFrom         *string     `json:"spend_from"`
	SpendFromSource   string      `json:"spend_from_source"`
	AsOf              string      `json:"as_of"`
	SettingsAt        *string     `json:"settings_updated_at"`
	SettingsBy        string      `json:"settings_updated_by"`
	TopUps            []topUpJSON `json:"top_ups"`
}

func toCreditJSON(v *service.CreditView) creditJSON {
	acc := &v.Account
	out := creditJSON{OrganizationID: v.OrganizationID, Users: v.Users, Currency: v.Currency, Prepaid: v.Prepaid, Balance: acc.Balance.String(),
		Spend: v.Spend.String(), Credit: v.Credit.String(), Threshold: acc.Threshold.String(), CanCreateInstance: v.CanCreateInstance,
		SpendFromSource: "none", AsOf: cloudmeter.FormatTime(v.Now), SettingsBy: acc.SettingsBy, TopUps: []topUpJSON{}}
	if out.Users == nil {
		out.Users = []int64{}
	}
	if v.SpendFrom != 0 {
		s := cloudmeter.FormatTime(v.SpendFrom)
		out.SpendFrom, out.SpendFromSource = &s, "first_top_up"
		if acc.SpendFrom != 0 {
			out.SpendFromSource = "setting"
		}
	}
	if acc.SettingsAt != 0 {
		s := cloudmeter.FormatTime(acc.SettingsAt)
		out.SettingsAt = &s
	}
	for _, t := range v.TopUps {
		out.TopUps = append(out.TopUps, toTopUpJSON(t))
	}
	return out
}

func (a *API) getCredit(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	org, err := pathInt(r, "organization_id")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v, err := a.svc.Credit(r.Context(), key, org, true)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, toCreditJSON(v))
}

func (a *API) postCredit(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	var in struct {
		Amount *string `json:"amount"`
		Note   string  `json:"note"`
	}
	org, ok := a.adminWrite(w, r, key, "organization_id", &in, `{"amount": "100.00", "note": "..."}`)
	if !ok {
		return
	}
	amount, err := parseAmount("amount", in.Amount)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	up, v, err := a.svc.TopUpCredit(r.Context(), key, org, amount, in.Note)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusCreated, map[string]any{"top_up": toTopUpJSON(up), "credit": toCreditJSON(v)})
}

func (a *API) putCreditSettings(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	var in struct {
		Threshold *string `json:"threshold"`
		SpendFrom *string `json:"spend_from"`
	}
	org, ok := a.adminWrite(w, r, key, "organization_id", &in, `{"threshold": "50.00", "spend_from": "2026-11-01T00:00:00Z" or null}`)
	if !ok {
		return
	}
	threshold, err := parseAmount("threshold", in.Threshold)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var from int64
	if in.SpendFrom != nil {
		if from, err = cloudmeter.ParseTime("spend_from", *in.SpendFrom); err != nil {
			a.fail(w, r, err)
			return
		}
		if from == 0 {
			// 0 means "from the first top-up": the first second of 1970 is the one
			// start that cannot be set, and no usage is that old.
			from = 1
		}
	}
	v, err := a.svc.SetCreditSettings(r.Context(), key, org, threshold, from)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, toCreditJSON(v))
}
