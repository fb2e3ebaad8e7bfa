package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/service"
)

// Marketplace installations, the native side: create, list and uninstall them (admin),
// read what one submitted per day and per month with its invoices and balances, move an
// invoice along its state machine (admin), and a user's partner charges. Partners
// themselves speak to /v1/installations/ (package marketplace).

type installationJSON struct {
	ID          string `json:"id"`
	Partner     string `json:"partner"`
	UserID      int64  `json:"user_id"`
	Currency    string `json:"currency"`
	CreatedAt   string `json:"created_at"`
	Uninstalled string `json:"uninstalled_at,omitempty"`
	Finalized   string `json:"billing_finalized_at,omitempty"`
	// AccessToken is set once, in the answer to the creation.
	AccessToken string `json:"access_token,omitempty"`
}

func toInstallationJSON(in cloudmeter.Installation) installationJSON {
	out := installationJSON{ID: in.ID, Partner: in.Partner, UserID: in.UserID, Currency: in.Currency, CreatedAt: cloudmeter.FormatTime(in.CreatedAt)}
	if in.UninstalledAt != 0 {
		out.Uninstalled = cloudmeter.FormatTime(in.UninstalledAt)
	}
	if in.FinalizedAt != 0 {
		out.Finalized = cloudmeter.FormatTime(in.FinalizedAt)
	}
	return out
}

func (a *API) postInstallation(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	var in struct {
		Partner  string `json:"partner"`
		UserID   int64  `json:"user_id"`
		Currency string `json:"currency"`
	}
	if !a.writeBody(w, r, key, cloudmeter.PermAdmin, &in, `{"partner": "...", "user_id": N, "currency": "USD"}`) {
		return
	}
	if in.Currency == "" {
		in.Currency = "USD"
	}
	token, inst, err := a.svc.CreateInstallation(r.Context(), key, in.Partner, in.UserID, in.Currency)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := toInstallationJSON(inst)
	out.AccessToken = token
	WriteJSON(w, http.StatusCreated, out)
}

func (a *API) getInstallations(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	user, err := queryInt(r, "user")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	list, err := a.svc.Installations(r.Context(), key, user)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]installationJSON, len(list))
	for i, in := range list {
		out[i] = toInstallationJSON(in)
	}
	WriteJSON(w, http.StatusOK, map[string]any{"installations": out})
}

func (a *API) deleteInstallation(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	in, err := a.svc.Uninstall(r.Context(), key, r.PathValue("installation_id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, toInstallationJSON(in))
}

// billingJSON is the billing data a day or a month holds: the latest submission for it,
// its amounts exact as sent, and its billing and usage members as the partner sent them.
type billingJSON struct {
	Start          string                   `json:"start"`
	Timestamp      string                   `json:"timestamp"`
	EOD            string                   `json:"eod"`
	Period         map[string]string        `json:"period"`
	ItemsTotal     string                   `json:"items_total"`
	DiscountsTotal string                   `json:"discounts_total"`
	Total          string                   `json:"total"`
	Anomalies      []cloudmeter.ItemAnomaly `json:"anomalies"`
	Billing        json.RawMessage          `json:"billing"`
	Usage          json.RawMessage          `json:"usage"`
	ReceivedAt     string                   `json:"received_at"`
}

func toBillingJSON(rows []cloudmeter.StoredBilling) []billingJSON {
	out := make([]billingJSON, len(rows))
	for i, b := range rows {
		out[i] = billingJSON{Start: cloudmeter.FormatTime(b.Start), Timestamp: cloudmeter.FormatMillis(b.Timestamp), EOD: cloudmeter.FormatMillis(b.EOD),
			Period:     map[string]string{"start": cloudmeter.FormatMillis(b.PeriodStart), "end": cloudmeter.FormatMillis(b.PeriodEnd)},
			ItemsTotal: b.ItemsTotal.String(), DiscountsTotal: b.DiscountsTotal.String(), Total: b.Total().String(), Anomalies: b.Anomalies,
			Billing: b.Billing, Usage: b.UsageJSON, ReceivedAt: cloudmeter.FormatTime(b.ReceivedAt)}
		if out[i].Anomalies == nil {
			out[i].Anomalies = []cloudmeter.ItemAnomaly{}
		}
	}
	return out
}

type invoiceJSON struct {
	ID           string                   `json:"id"`
	ExternalID   string                   `json:"external_id"`
	State        string                   `json:"state"`
	InvoiceDate  string                   `json:"invoice_date"`
	Period       map[string]string        `json:"period"`
	Memo         string                   `json:"memo"`
	Total        string                   `json:"total"`
	Refunded     string                   `json:"refunded"`
	RefundReason string                   `json:"refund_reason,omitempty"`
	Final        bool                     `json:"final"`
	Test         bool                     `json:"test"`
	Items        json.RawMessage          `json:"items"`
	Discounts    json.RawMessage          `json:"discounts"`
	Anomalies    []cloudmeter.ItemAnomaly `json:"anomalies"`
	CreatedAt    string                   `json:"created_at"`
	UpdatedAt    string                   `json:"updated_at"`
}

func toInvoiceJSON(inv cloudmeter.PartnerInvoice) invoiceJSON {
	out := invoiceJSON{ID: inv.ID, ExternalID: inv.ExternalID, State: string(inv.State), InvoiceDate: cloudmeter.FormatMillis(inv.InvoiceDate),
		Period: map[string]string{"start": cloudmeter.FormatMillis(inv.PeriodStart), "end": cloudmeter.FormatMillis(inv.PeriodEnd)},
		Memo:   inv.Memo, Total: inv.Total.String(), Refunded: inv.Refunded.String(), RefundReason: inv.RefundReason, Final: inv.Final,
		Test: inv.Test, Items: inv.Items, Discounts: inv.Discounts, Anomalies: inv.Anomalies,
		CreatedAt: cloudmeter.FormatTime(inv.CreatedAt), UpdatedAt: cloudmeter.FormatTime(inv.UpdatedAt)}
	if out.Anomalies == nil {
		out.Anomalies = []cloudmeter.ItemAnomaly{}
	}
	return out
}

type balanceJSON struct {
	ResourceID           string `json:"resource_id,omitempty"`
	Timestamp            string `json:"timestamp"`
	Credit               string `json:"credit,omitempty"`
	NameLabel            string `json:"name_label,omitempty"`
	CurrencyValueInCents int64  `json:"currency_value_in_cents"`
}

// window reads the optional from and to of a query: by default the 31 days up to now.
func (a *API) window(r *http.Request) (from, to int64, err error) {
	q := r.URL.Query()
	to = a.svc.Now()
	if s := q.Get("to"); s != "" {
		if to, err = cloudmeter.ParseTime("to", s); err != nil {
			return 0, 0, err
		}
	}
	from = to - 31*86400
	if s := q.Get("from"); s != "" {
		if from, err = cloudmeter.ParseTime("from", s); err != nil {
			return 0, 0, err
		}
	}
	if to < from {
		return 0, 0, cloudmeter.Errorf(cloudmeter.KindInvalid, "to: %s is before from %s", cloudmeter.FormatTime(to), cloudmeter.FormatTime(from))
	}
	return from, to, nil
}

func (a *API) getInstallationBilling(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	from, to, err := a.window(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	b, err := a.svc.Installation(r.Context(), key, r.PathValue("installation_id"), from, to)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	invoices := make([]invoiceJSON, len(b.Invoices))
	for i, inv := range b.Invoices {
		invoices[i] = toInvoiceJSON(inv)
	}
	balances := make([]balanceJSON, len(b.Balances))
	for i, bal := range b.Balances {
		balances[i] = balanceJSON{ResourceID: bal.ResourceID, Timestamp: cloudmeter.FormatMillis(bal.Timestamp), Credit: bal.Credit,
			NameLabel: bal.NameLabel, CurrencyValueInCents: bal.CurrencyValueInCents}
	}
	WriteJSON(w, http.StatusOK, map[string]any{
		"installation": toInstallationJSON(b.Installation), "from": cloudmeter.FormatTime(from), "to": cloudmeter.FormatTime(to),
		"days": toBillingJSON(b.Days), "months": toBillingJSON(b.Months), "invoices": invoices, "balances": balances,
	})
}

func (a *API) putInvoiceState(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	if err := key.Require(cloudmeter.PermAdmin); err != nil {
		a.fail(w, r, err)
		return
	}
	body, err := a.readBody(w, r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in struct {
		State string `json:"state"`
	}
	if err := decodeObject(body, &in, `{"state": "paid"}`); err != nil {
		a.fail(w, r, err)
		return
	}
	inv, err := a.svc.SetInvoiceState(r.Context(), key, r.PathValue("installation_id"), r.PathValue("invoice_id"), cloudmeter.InvoiceState(in.State))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, toInvoiceJSON(inv))
}

// partnerChargeJSON is what one installation charged over a window, in its currency.
type partnerChargeJSON struct {
	InstallationID string `json:"installation_id"`
	Partner        string `json:"partner"`
	Currency       string `json:"currency"`
	Invoiced       string `json:"invoiced"`
	Refunded       string `json:"refunded"`
	Interim        string `json:"interim"`
	Invoices       int    `json:"invoices"`
}

// currencyChargesJSON sums the charges of one currency.
type currencyChargesJSON struct {
	Currency string `json:"currency"`
	Invoiced string `json:"invoiced"`
	Refunded string `json:"refunded"`
	Interim  string `json:"interim"`
}

// partnerChargesJSON is the partner charges of a user over a window: per installation,
// and totals per currency (never across currencies).
type partnerChargesJSON struct {
	Installations []partnerChargeJSON   `json:"installations"`
	Totals        []currencyChargesJSON `json:"totals_by_currency"`
}

func toPartnerChargesJSON(charges []service.PartnerCharge, totals []service.CurrencyCharges) partnerChargesJSON {
	out := partnerChargesJSON{Installations: make([]partnerChargeJSON, len(charges)), Totals: make([]currencyChargesJSON, len(totals))}
	for i, c := range charges {
		out.Installations[i] = partnerChargeJSON{InstallationID: c.Installation.ID, Partner: c.Installation.Partner, Currency: c.Installation.Currency,
			Invoiced: c.Invoiced.String(), Refunded: c.Refunded.String(), Interim: c.Interim.String(), Invoices: c.Invoices}
	}
	for i, c := range totals {
		out.Totals[i] = currencyChargesJSON{Currency: c.Currency, Invoiced: c.Invoiced.String(), Refunded: c.Refunded.String(), Interim: c.Interim.String()}
	}
	return out
}

func (a *API) getPartnerCharges(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	user, err := pathInt(r, "user_id")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	from, to, err := a.window(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	charges, totals, err := a.svc.PartnerCharges(r.Context(), key, user, from, to)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := toPartnerChargesJSON(charges, totals)
	WriteJSON(w, http.StatusOK, map[string]any{"user_id": user, "from": cloudmeter.FormatTime(from), "to": cloudmeter.FormatTime(to),
		"partner_charges": out})
}

// withPartnerCharges adds to a native utilization report the user's partner charges over
// its window, as a member of its own, "partner_charges", when there are any: they are in
// the partners' currencies and never added to the report's total_cost.
func (a *API) withPartnerCharges(r *http.Request, key cloudmeter.APIKey, user, from, to int64, report []byte) ([]byte, error) {
	charges, totals, err := a.svc.PartnerCharges(r.Context(), key, user, from, to)
	if err != nil || len(charges) == 0 {
		return report, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(report, &m); err != nil {
		return nil, cloudmeter.Internal(err)
	}
	pc, err := json.Marshal(toPartnerChargesJSON(charges, totals))
	if err != nil {
		return nil, cloudmeter.Internal(err)
	}
	m["partner_charges"] = pc
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, cloudmeter.Internal(err)
	}
	return append(out, '\n'), nil
}
