// Package httpapi serves cloudmeter's native REST API under /api/v1/ and holds its
// OpenAPI description (served by the server at /openapi.yaml) and its error table. Every
// route is registered in Handler; unknown routes, wrong methods and panics are answered
// in the native error shape. Handlers are thin: decode, call package service, encode.
package httpapi

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/internal/dispatch"
	"github.com/cloudmeter/cloudmeter/ledger"
	"github.com/cloudmeter/cloudmeter/service"
)

// OpenAPI is the description of the native API.
//
//go:embed openapi.yaml
var OpenAPI []byte

// Limits bound requests.
type Limits struct {
	// MaxBodyBytes bounds a request body (events, prices, JSON-RPC).
	MaxBodyBytes int64
	// MaxBatchEvents bounds the events of one ingest request.
	MaxBatchEvents int
}

// DefaultLimits are used for zero fields.
var DefaultLimits = Limits{MaxBodyBytes: 32 << 20, MaxBatchEvents: 10000}

// API is the native REST API.
type API struct {
	svc    *service.Service
	log    *slog.Logger
	limits Limits
	hooks  Hooks
}

// Hooks let the server observe the API without the API knowing about metrics.
type Hooks struct {
	// Ingested is called after each committed batch.
	Ingested func(res cloudmeter.AppendResult)
}

// Prefix is where the native API is mounted.
const Prefix = "/api/v1/"

// Handler returns the native REST API: every route under Prefix, registered here, and an
// answer in the native error shape to unknown routes, wrong methods and panics.
func Handler(svc *service.Service, log *slog.Logger, limits Limits, hooks Hooks) http.Handler {
	if limits.MaxBodyBytes <= 0 {
		limits.MaxBodyBytes = DefaultLimits.MaxBodyBytes
	}
	if limits.MaxBatchEvents <= 0 {
		limits.MaxBatchEvents = DefaultLimits.MaxBatchEvents
	}
	if log == nil {
		log = slog.Default()
	}
	a := &API{svc: svc, log: log, limits: limits, hooks: hooks}
	mux := http.NewServeMux()
	for _, rt := range a.routes() {
		mux.HandleFunc(rt.pattern, a.auth(rt.handle))
	}
	return Dispatch(mux, log)
}

type route struct {
	pattern string
	handle  keyHandler
}

// routes is the native API's route table; every route needs a key.
func (a *API) routes() []route {
	return []route{
		{"POST /api/v1/events", a.postEvents},
		{"GET /api/v1/prices", a.getPrices},
		{"PUT /api/v1/prices", a.putPrices},
		{"GET /api/v1/anomalies", a.getAnomalies},
		{"GET /api/v1/resources/{product_id}", a.getResource},
		{"GET /api/v1/resources/{product_id}/traffic", a.getTraffic},
		{"GET /api/v1/users/{user_id}/utilization", a.getUtilization},
		{"GET /api/v1/users/{user_id}/organization", a.getOrganization},
		{"PUT /api/v1/users/{user_id}/organization", a.putOrganization},
		{"GET /api/v1/organizations/{organization_id}/credit", a.getCredit},
		{"POST /api/v1/organizations/{organization_id}/credit", a.postCredit},
		{"PUT /api/v1/organizations/{organization_id}/credit/settings", a.putCreditSettings},
		{"GET /api/v1/keys", a.getKeys},
		{"POST /api/v1/keys", a.postKey},
		{"DELETE /api/v1/keys/{id}", a.deleteKey},
		{"POST /api/v1/installations", a.postInstallation},
		{"GET /api/v1/installations", a.getInstallations},
		{"DELETE /api/v1/installations/{installation_id}", a.deleteInstallation},
		{"GET /api/v1/installations/{installation_id}/billing", a.getInstallationBilling},
		{"PUT /api/v1/installations/{installation_id}/invoices/{invoice_id}/state", a.putInvoiceState},
		{"GET /api/v1/users/{user_id}/partner-charges", a.getPartnerCharges},
		{"GET /api/v1/exports", a.getExports},
		{"PUT /api/v1/exports/{target_id}", a.putExport},
		{"DELETE /api/v1/exports/{target_id}", a.deleteExport},
		{"POST /api/v1/reservations", a.postReservations},
		{"GET /api/v1/reservations/{reservation_id}", a.getReservation},
		{"GET /api/v1/users/{user_id}/reservations", a.getUserReservations},
	}
}

// Routes lists the route patterns Handler serves ("METHOD /path").
func Routes() []string {
	var a API
	var out []string
	for _, rt := range a.routes() {
		out = append(out, rt.pattern)
	}
	return out
}

// Dispatch serves the routes of mux in the native shape: it records the matched route
// pattern for the access log and metrics, answers a path no route matches with 404 and
// a route of another method with 405 (and its Allow header), and answers a panic with
// a logged 500, all as native JSON errors. The operations endpoints use it too.
func Dispatch(mux *http.ServeMux, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	return dispatch.Handler(mux, dispatch.Answers{
		Panic: func(w http.ResponseWriter, r *http.Request, v any, stack []byte) {
			WriteError(log, w, r, cloudmeter.Internal(fmt.Errorf("panic: %v\n%s", v, stack)))
		},
		MethodNotAllowed: writeMethodNotAllowed,
		NotFound: func(w http.ResponseWriter, r *http.Request) {
			WriteError(log, w, r, cloudmeter.Errorf(cloudmeter.KindNotFound, "%s %s: no such route (see /openapi.yaml)", r.Method, r.URL.Path))
		},
	})
}

type keyHandler func(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey)

// auth authenticates the Bearer key before h.
func (a *API) auth(h keyHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, err := a.svc.Authenticate(r.Context(), r.Header.Get("Authorization"))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		h(w, r, key)
	}
}

// fail answers err in the native error shape.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	WriteError(a.log, w, r, err)
}

// WriteJSON answers v as indented JSON with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// readBody reads a request body up to the limit. A body announced larger than the limit
// is refused before a byte of it is read (and before a client that sent Expect:
// 100-continue is told to send it).
func (a *API) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > a.limits.MaxBodyBytes {
		return nil, cloudmeter.Errorf(cloudmeter.KindTooLarge, "request body: Content-Length %d is larger than the limit of %d bytes (--max-body-bytes)",
			r.ContentLength, a.limits.MaxBodyBytes)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.limits.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, cloudmeter.Errorf(cloudmeter.KindTooLarge, "request body: larger than the limit of %d bytes (--max-body-bytes)", a.limits.MaxBodyBytes)
		}
		return nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "request body: could not be read: %v", err)
	}
	return body, nil
}

// decodeObject decodes a body that must be exactly one JSON object with no other members
// than dst's; shape shows the object in the error message.
func decodeObject(body []byte, dst any, shape string) error {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "body: must be a JSON object %s%s", shape, fieldHint(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "body: unexpected data after the JSON object")
	}
	return nil
}

// writeBody reads what a write needs, in this order: the key's permission perm (a key
// that may not write learns nothing from the body) and the body decoded into dst (shape
// shows the object in the error message). On failure it answers the request and
// reports false.
func (a *API) writeBody(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey, perm cloudmeter.Permission, dst any, shape string) bool {
	if err := key.Require(perm); err != nil {
		a.fail(w, r, err)
		return false
	}
	body, err := a.readBody(w, r)
	if err == nil {
		err = decodeObject(body, dst, shape)
	}
	if err != nil {
		a.fail(w, r, err)
		return false
	}
	return true
}

// adminWrite is writeBody for an admin write whose path parameter param is an id,
// checked after the permission and before the body.
func (a *API) adminWrite(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey, param string, dst any, shape string) (int64, bool) {
	if err := key.Require(cloudmeter.PermAdmin); err != nil {
		a.fail(w, r, err)
		return 0, false
	}
	id, err := pathInt(r, param)
	if err != nil {
		a.fail(w, r, err)
		return 0, false
	}
	return id, a.writeBody(w, r, key, cloudmeter.PermAdmin, dst, shape)
}

// ingestResponse answers a committed batch.
type ingestResponse struct {
	Accepted      int `json:"accepted"`
	Duplicates    int `json:"duplicates"`
	RatedProducts int `json:"rated_products"`
}

func (a *API) postEvents(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	if err := key.Require(cloudmeter.PermEventsWrite); err != nil {
		a.fail(w, r, err)
		return
	}
	body, err := a.readBody(w, r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	events, err := ledger.DecodeBatch(r.Header.Get("Content-Type"), body, ledger.Limits{MaxEvents: a.limits.MaxBatchEvents})
	if cloudmeter.KindOf(err) == cloudmeter.KindTooLarge {
		err = cloudmeter.Errorf(cloudmeter.KindTooLarge, "%s (--max-batch-events)", cloudmeter.MessageOf(err))
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	res, err := a.svc.Ingest(r.Context(), key, events)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if a.hooks.Ingested != nil {
		a.hooks.Ingested(res)
	}
	WriteJSON(w, http.StatusOK, ingestResponse{Accepted: res.Accepted, Duplicates: res.Duplicates, RatedProducts: len(res.Rated)})
}

func (a *API) getPrices(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	b, err := a.svc.Prices(r.Context(), key)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Price-Book-Version", strconv.FormatInt(b.Version, 10))
	w.Write(b.Body)
}

func (a *API) putPrices(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	// The permission first: a key that may not write prices learns nothing from the body.
	if err := key.Require(cloudmeter.PermPricesWrite); err != nil {
		a.fail(w, r, err)
		return
	}
	body, err := a.readBody(w, r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	dryRun, err := queryBool(r, "dry_run")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	force, err := queryBool(r, "force")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if dryRun {
		rv, err := a.svc.ReviewPrices(r.Context(), key, body)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		WriteJSON(w, http.StatusOK, toPriceReviewJSON(rv))
		return
	}
	put := a.svc.PutPrices
	if force {
		put = a.svc.PutPricesForced
	}
	b, err := put(r.Context(), key, body)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"version": b.Version, "currency": b.Currency, "entries": len(b.Entries)})
}

// queryInt reads an optional integer query parameter.
func queryInt(r *http.Request, name string) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, cloudmeter.Errorf(cloudmeter.KindInvalid, "%s: %q must be a whole number of 0 or more", name, s)
	}
	return n, nil
}

func pathInt(r *http.Request, name string) (int64, error) {
	s := r.PathValue(name)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, cloudmeter.Errorf(cloudmeter.KindInvalid, "%s: %q must be a whole number above 0", name, s)
	}
	return n, nil
}

type anomalyJSON struct {
	ProductID   int64  `json:"product_id"`
	UserID      int64  `json:"user_id"`
	Kind        string `json:"kind"`
	Message     string `json:"message"`
	EventSource string `json:"event_source,omitempty"`
	EventID     string `json:"event_id,omitempty"`
	Time        string `json:"time"`
}

func (a *API) getAnomalies(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	var q cloudmeter.AnomalyQuery
	var err error
	var limit int64
	if q.UserID, err = queryInt(r, "user"); err == nil {
		if q.ProductID, err = queryInt(r, "product_id"); err == nil {
			limit, err = queryInt(r, "limit")
		}
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	q.Limit = int(min(limit, 10000))
	list, err := a.svc.Anomalies(r.Context(), key, q)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]anomalyJSON, len(list))
	for i, an := range list {
		out[i] = anomalyJSON{ProductID: an.ProductID, UserID: an.UserID, Kind: string(an.Kind), Message: an.Message,
			EventSource: an.EventSource, EventID: an.EventID, Time: cloudmeter.FormatTime(an.Time)}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"anomalies": out})
}

type segmentJSON struct {
	Start             string `json:"start"`
	End               string `json:"end,omitempty"`
	State             string `json:"state"`
	Attributes        any    `json:"attributes"`
	PriceEntry        *int   `json:"price_entry"`
	CostPerUnit       string `json:"cost_per_unit"`
	MeasurementPeriod int64  `json:"measurement_period"`
	Unpriced          string `json:"unpriced,omitempty"`
}

func (a *API) getResource(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	id, err := pathInt(r, "product_id")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v, err := a.svc.Resource(r.Context(), key, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	res := v.Resource
	segs := make([]segmentJSON, len(v.Segments))
	for i, s := range v.Segments {
		segs[i] = segmentJSON{Start: cloudmeter.FormatTime(s.Start), State: string(s.State), Attributes: s.Attributes,
			CostPerUnit: s.CostPerUnit.String(), MeasurementPeriod: s.MeasurementPeriod, Unpriced: s.Unpriced}
		if s.End < cloudmeter.OpenEnd && (res.DeletedAt != 0 || i < len(v.Segments)-1) {
			segs[i].End = cloudmeter.FormatTime(s.End)
		}
		if s.Entry != nil {
			idx := s.Entry.Index()
			segs[i].PriceEntry = &idx
		}
	}
	out := map[string]any{
		"product_id": res.ProductID, "user_id": res.UserID, "infrastructure_id": res.InfrastructureID, "datacenter": res.Datacenter,
		"resource_type": res.Type, "label": res.Label, "subdomain": res.Subdomain, "exclude_billing": res.ExcludeBilling,
		"attributes": res.Attributes, "state": res.State, "provisioned_at": cloudmeter.FormatTime(res.ProvisionedAt),
		"currency": currencyOrNull(v.Currency), "segments": segs,
	}
	if res.DeletedAt != 0 {
		out["deleted_at"] = cloudmeter.FormatTime(res.DeletedAt)
	}
	WriteJSON(w, http.StatusOK, out)
}

func (a *API) getUtilization(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	user, err := pathInt(r, "user_id")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	req := service.ReportRequest{UserID: user}
	q := r.URL.Query()
	if req.Start, err = cloudmeter.ParseTime("from", q.Get("from")); err != nil {
		a.fail(w, r, err)
		return
	}
	if req.End, err = cloudmeter.ParseTime("to", q.Get("to")); err != nil {
		a.fail(w, r, err)
		return
	}
	for _, s := range q["infrastructure_id"] {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			a.fail(w, r, cloudmeter.Errorf(cloudmeter.KindInvalid, "infrastructure_id: %q must be a whole number", s))
			return
		}
		req.InfrastructureIDs = append(req.InfrastructureIDs, id)
	}
	for _, dc := range q["datacenter"] {
		if err := cloudmeter.CheckText("datacenter", dc, cloudmeter.MaxNameBytes); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	req.Datacenters = q["datacenter"]
	u, err := a.svc.Utilization(r.Context(), key, req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out, err := a.withPartnerCharges(r, key, user, req.Start, req.End, NativeReport(u))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(out)
}

type keyJSON struct {
	ID          string   `json:"id"`
	UserID      int64    `json:"user_id"`
	Label       string   `json:"label"`
	Permissions []string `json:"permissions"`
	CreatedAt   string   `json:"created_at"`
	RevokedAt   string   `json:"revoked_at,omitempty"`
	// Signing is present (true) only for a key that can also sign requests.
	Signing bool   `json:"signing,omitempty"`
	Key     string `json:"key,omitempty"`
}

func toKeyJSON(k cloudmeter.APIKey) keyJSON {
	out := keyJSON{ID: k.ID, UserID: k.UserID, Label: k.Label, CreatedAt: cloudmeter.FormatTime(k.CreatedAt), Permissions: []string{}, Signing: k.Signing}
	for _, p := range k.Permissions {
		out.Permissions = append(out.Permissions, string(p))
	}
	if k.RevokedAt != 0 {
		out.RevokedAt = cloudmeter.FormatTime(k.RevokedAt)
	}
	return out
}

func (a *API) getKeys(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	keys, err := a.svc.Keys(r.Context(), key)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]keyJSON, len(keys))
	for i, k := range keys {
		out[i] = toKeyJSON(k)
	}
	WriteJSON(w, http.StatusOK, map[string]any{"keys": out})
}

func (a *API) postKey(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	var in struct {
		UserID      int64    `json:"user_id"`
		Permissions []string `json:"permissions"`
		Label       string   `json:"label"`
		Signing     bool     `json:"signing"`
	}
	if !a.writeBody(w, r, key, cloudmeter.PermAdmin, &in, `{"user_id": N, "permissions": ["..."], "label": "...", "signing": false}`) {
		return
	}
	perms, err := cloudmeter.ParsePermissions(strings.Join(in.Permissions, ","))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	create := a.svc.CreateKey
	if in.Signing {
		// A key that can also sign requests, as MetalSoft's SDKs do: its secret is kept
		// sealed under the server secret (--secret-file).
		create = a.svc.CreateSigningKey
	}
	plain, k, err := create(r.Context(), key, in.UserID, perms, in.Label)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := toKeyJSON(k)
	out.Key = plain
	WriteJSON(w, http.StatusCreated, out)
}

func (a *API) deleteKey(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey) {
	if err := a.svc.RevokeKey(r.Context(), key, r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// fieldHint names the field a JSON decoding error is about, without Go type names.
func fieldHint(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Sprintf(": %s must be a JSON %s", te.Field, jsonKind(te.Type.Kind().String()))
	}
	if strings.HasPrefix(err.Error(), "json: unknown field ") {
		return ": " + strings.TrimPrefix(err.Error(), "json: ") + " is not accepted"
	}
	return ""
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int64", "int", "float64":
		return "number"
	case "slice":
		return "array"
	case "struct", "map":
		return "object"
	}
	return goKind
}
