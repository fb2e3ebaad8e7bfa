// Package marketplace is the Vercel-Marketplace-compatible partner API (seed 001, DESIGN
// 3.4): the endpoints under /v1/installations/{id}/ to which a partner installed for a
// user of the cloud reports billing and usage data, invoices, prepaid balances and the
// state of its resources, with the installation's access token, in the marketplace's
// error shape and with the statuses Vercel's own SDK expects. It is a thin adapter over
// package service: it decodes bodies (wire.go), calls the service and writes answers; it
// holds no SQL.
package marketplace

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/internal/dispatch"
	"github.com/cloudmeter/cloudmeter/service"
)

// OpenAPI is the OpenAPI 3.1 description of this API, served at
// /openapi-marketplace.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

// Prefix is where the API is mounted.
const Prefix = "/v1/installations/"

// DefaultMaxBodyBytes bounds a request body when Options.MaxBodyBytes is 0.
const DefaultMaxBodyBytes = 32 << 20

// Options configure the API; zero fields take the defaults.
type Options struct {
	// MaxBodyBytes bounds a request body (DefaultMaxBodyBytes when 0).
	MaxBodyBytes int64
	// Logger receives a failed request's line when the request carries no reqinfo (in
	// tests); slog.Default() when nil.
	Logger *slog.Logger
}

type api struct {
	svc     *service.Service
	log     *slog.Logger
	maxBody int64
}

type installationHandler func(w http.ResponseWriter, r *http.Request, in cloudmeter.Installation)

type route struct {
	pattern string
	handle  installationHandler
}

// routes is the API's route table; every route acts for the installation {id} and needs
// its access token.
func (a *api) routes() []route {
	const p = Prefix + "{id}/"
	return []route{
		{"POST " + p + "billing", a.submitBilling},
		{"POST " + p + "billing/invoices", a.submitInvoice},
		{"GET " + p + "billing/invoices/{invoiceId}", a.getInvoice},
		{"POST " + p + "billing/invoices/{invoiceId}/actions", a.invoiceAction},
		{"POST " + p + "billing/balance", a.submitBalance},
		{"POST " + p + "billing/finalize", a.finalize},
		{"PATCH " + p + "resources/{resourceId}", a.updateResource},
	}
}

// Routes lists the route patterns Handler serves ("METHOD /path").
func Routes() []string {
	var a api
	var out []string
	for _, rt := range a.routes() {
		out = append(out, rt.pattern)
	}
	return out
}

// Handler returns the API for every path under Prefix: each route authenticates the
// installation's access token (service.AuthenticateInstallation gives the order of
// 401, 410, 404 and 403); a path no route matches is answered 404, a route asked with
// another method 405 (with Allow), a panic 500, all in the marketplace's error shape.
func Handler(svc *service.Service, opts Options) http.Handler {
	a := &api{svc: svc, log: opts.Logger, maxBody: opts.MaxBodyBytes}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.maxBody <= 0 {
		a.maxBody = DefaultMaxBodyBytes
	}
	mux := http.NewServeMux()
	for _, rt := range a.routes() {
		mux.HandleFunc(rt.pattern, a.auth(rt.handle))
	}
	return a.dispatch(mux)
}

// dispatch serves mux's routes in this API's shape: it records the matched route for the
// access log and metrics, and answers unknown paths, wrong methods and panics itself.
func (a *api) dispatch(mux *http.ServeMux) http.Handler {
	return dispatch.Handler(mux, dispatch.Answers{
		Panic: func(w http.ResponseWriter, r *http.Request, v any, stack []byte) {
			writeError(a.log, w, r, cloudmeter.Internal(fmt.Errorf("panic in the marketplace API: %v\n%s", v, stack)))
		},
		MethodNotAllowed: func(w http.ResponseWriter, r *http.Request, allow string) {
			writeJSON(w, http.StatusMethodNotAllowed, ErrorBody{Error: ErrorDetail{Code: "method_not_allowed",
				Message: r.Method + " " + r.URL.Path + ": method not allowed; allowed: " + allow}})
		},
		NotFound: func(w http.ResponseWriter, r *http.Request) {
			writeError(a.log, w, r, cloudmeter.Errorf(cloudmeter.KindNotFound, "%s %s: no such route (see /openapi-marketplace.yaml)", r.Method, r.URL.Path))
		},
	})
}

// auth authenticates the installation's access token for the installation of the path
// (its id arrives decoded, whatever its percent-encoding) before h.
func (a *api) auth(h installationHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		in, err := a.svc.AuthenticateInstallation(r.Context(), r.Header.Get("Authorization"), r.PathValue("id"))
		if err != nil {
			writeError(a.log, w, r, err)
			return
		}
		h(w, r, in)
	}
}

// readBody reads a request body up to the limit.
func (a *api) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > a.maxBody {
		return nil, cloudmeter.Errorf(cloudmeter.KindTooLarge, "request body: Content-Length %d is larger than the limit of %d bytes (--max-body-bytes)",
			r.ContentLength, a.maxBody)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, cloudmeter.Errorf(cloudmeter.KindTooLarge, "request body: larger than the limit of %d bytes (--max-body-bytes)", a.maxBody)
		}
		return nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "request body: could not be read: %v", err)
	}
	return body, nil
}

// submitted is the answer to accepted billing data: which slots it now holds (false: a
// later submission holds the slot, and this one changed nothing there), and the items
// flagged because their total is not price x quantity.
type submitted struct {
	Kept      keptSlots                `json:"kept"`
	Anomalies []cloudmeter.ItemAnomaly `json:"anomalies"`
}

type keptSlots struct {
	Day   bool `json:"day"`
	Week  bool `json:"week"`
	Month bool `json:"month"`
}

func (a *api) submitBilling(w http.ResponseWriter, r *http.Request, in cloudmeter.Installation) {
	body, err := a.readBody(w, r)
	if err != nil {
		writeError(a.log, w, r, err)
		return
	}
	b, err := ParseBilling(body)
	if err != nil {
		writeError(a.log, w, r, err)
		return
	}
	sub, out, err := a.svc.SubmitBilling(r.Context(), in, b.Submission, b.Items, b.Discounts)
	if err != nil {
		writeError(a.log, w, r, err)
		return
	}
	anomalies := sub.Anomalies
	if anomalies == nil {
		anomalies = []cloudmeter.ItemAnomaly{}
	}
	writeJSON(w, http.StatusCreated, submitted{Kept: keptSlots{Day: out.Day, Week: out.Week, Month: out.Month}, Anomalies: anomalies})
}

func (a *api) finalize(w http.ResponseWriter, r *http.Request, in cloudmeter.Installation) {
	// Vercel's SDK sends no body and no Content-Type; any body is ignored.
	if err := a.svc.FinalizeBilling(r.Context(), in); err != nil {
		writeError(a.log, w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// invoiceCreated is the answer to a submitted invoice.
type invoiceCreated struct {
	InvoiceID        string   `json:"invoiceId"`
	ValidationErrors []string `json:"validationErrors,omitempty"`
}

func (a *api) submitInvoice(w http.ResponseWriter, r *http.Request, in cloudmeter.Installation) {
	body, err := a.readBody(w, r)
	if err != nil {
		writeError(a.log, w, r, err)
		return
	}
	inv, err := ParseInvoice(body)
	if err != nil {
		writeError(a.log, w, r, err)
		return
	}
	stored, err := a.svc.SubmitInvoice(r.Context(), in, inv.Invoice, inv.Items, inv.Discounts, inv.TestResult)
	if err != nil {
		writeError(a.log, w, r, err)
		return
	}
	out := invoiceCreated{InvoiceID: stored.ID}
	for _, an := range stored.Anomalies {
		out.ValidationErrors = append(out.ValidationErrors, an.Field+": "+an.Message)
	}
	writeJSON(w, http.StatusOK, out)
}

// invoiceJSON is an invoice as Vercel's SDK decodes it.
type invoiceJSON struct {
	InvoiceID    string     `json:"invoiceId"`
	ExternalID   string     `json:"externalId"`
	State        string     `json:"state"`
	InvoiceDate  string     `json:"invoiceDate"`
	Period       periodJSON `json:"period"`
	Memo         string     `json:"memo,omitempty"`
	Items        rawJSON    `json:"items"`
	Discounts    rawJSON    `json:"discounts"`
	Total        string     `json:"total"`
	RefundTotal  string     `json:"refundTotal,omitempty"`
	RefundReason string     `json:"refundReason,omitempty"`
	Final        bool       `json:"final"`
	Test         bool       `json:"test"`
	// Anomalies are the items whose total is not price x quantity (cloudmeter's own
	// member; the SDK ignores it).
	Anomalies []cloudmeter.ItemAnomaly `json:"anomalies,omitempty"`
	Created   string                   `json:"created"`
	Updated   string                   `json:"updated"`
}

type periodJSON struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// rawJSON is JSON written as it is (items and discounts as the partner sent them).
type rawJSON []byte

func (r rawJSON) MarshalJSON() ([]byte, error) {
	if len(r) == 0 {
		return []byte("[]"), nil
	}
	return r, nil
}

// InvoiceJSON returns an invoice in the marketplace's shape: dates with milliseconds,
// amounts as the exact decimal strings, items and discounts as sent.
func InvoiceJSON(inv cloudmeter.PartnerInvoice) any {
	out := invoiceJSON{InvoiceID: inv.ID, ExternalID: inv.ExternalID, State: string(inv.State),
		InvoiceDate: cloudmeter.FormatMillis(inv.InvoiceDate),
		Period:      periodJSON{Start: cloudmeter.FormatMillis(inv.PeriodStart), End: cloudmeter.FormatMillis(inv.PeriodEnd)},
		Memo:        inv.Memo, Items: rawJSON(inv.Items), Discounts: rawJSON(inv.Discounts), Total: inv.Total.String(),
		RefundReason: inv.RefundReason, Final: inv.Final, Test: inv.Test, Anomalies: inv.Anomalies,
		Created: cloudmeter.FormatMillis(inv.CreatedAt * 1000), Updated: cloudmeter.FormatMillis(inv.UpdatedAt * 1000)}
	if !inv.Refunded.IsZero() {
		out.RefundTotal = inv.Refunded.String()
	}
	return out
}

func (a *api) getInvoice(w http.ResponseWriter, r *http.Request, in cloudmeter.Installation) {
	inv, err := a.svc.Invoice(r.Context(), in, r.PathValue("invoiceId"))
	if err != nil {
		writeError(a.log, w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, InvoiceJSON(inv))
}

func (a *api) invoiceAction(w http.ResponseWriter, r *http.Request, in cloudmeter.Installation) {
	body, err := a.readBody(w, r)
	if err != nil {
		writeError(a.log, w, r, err)
		return
	}
	refund, err := ParseRefund(body)
	if err != nil {
		writeError(a.log, w, r, err)
		return
	}
	if _, err := a.svc.RefundInvoice(r.Context(), in, r.PathValue("invoiceId"), refund); err != nil {
		writeError(a.log, w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) submitBalance(w http.ResponseWriter, r *http.Request, in cloudmeter.Installation) {
	body, err := a.readBody(w, r)
	if err != nil {
		writeError(a.log, w, r, err)
		return
	}
	bs, err := ParseBalances(body)
	if err != nil {
		writeError(a.log, w, r, err)
		return
	}
	if err := a.svc.SubmitBalances(r.Context(), in, bs); err != nil {
		writeError(a.log, w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]int{"balances": len(bs)})
}

// resourceJSON is the answer to a resource update.
type resourceJSON struct {
	ResourceID string `json:"resourceId"`
	Status     string `json:"status,omitempty"`
	Updated    string `json:"updated"`
}

func (a *api) updateResource(w http.ResponseWriter, r *http.Request, in cloudmeter.Installation) {
	body, err := a.readBody(w, r)
	if err != nil {
		writeError(a.log, w, r, err)
		return
	}
	res, err := ParseResourceUpdate(body)
	if err != nil {
		writeError(a.log, w, r, err)
		return
	}
	res.ResourceID = r.PathValue("resourceId")
	if err := cloudmeter.CheckText("resourceId", res.ResourceID, cloudmeter.MaxNameBytes); err != nil {
		writeError(a.log, w, r, err)
		return
	}
	stored, err := a.svc.UpdatePartnerResource(r.Context(), in, res)
	if err != nil {
		writeError(a.log, w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resourceJSON{ResourceID: stored.ResourceID, Status: stored.Status, Updated: cloudmeter.FormatMillis(stored.UpdatedAt * 1000)})
}
