// Package metalsoft serves cloudmeter's reports through a MetalSoft-compatible JSON-RPC
// 2.0 API at /api/developer/developer (DESIGN 3.2): the methods
// resource_utilization_detailed and resource_utilization_summary, the price methods
// (prices.go), the server type reservation methods (reservations.go), Bearer keys and
// requests signed as MetalSoft's SDKs sign them (signing.go), MetalSoft's
// error codes and report shape (decimals as strings, ids as numbers). It is a thin
// adapter over package service.
package metalsoft

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/internal/jsonrpc"
	"github.com/cloudmeter/cloudmeter/internal/reqinfo"
	"github.com/cloudmeter/cloudmeter/service"
)

// Path is where the API is served; Prefix is what the router mounts it under, so that
// other paths there are answered in this API's error shape too.
const (
	Path   = "/api/developer/developer"
	Prefix = "/api/developer/"
)

// route is the one route of the API, recorded for the access log and metrics.
const route = "POST " + Path

// Routes lists the route patterns Handler serves ("METHOD /path").
func Routes() []string { return []string{route} }

type keyCtx struct{}

// DefaultMaxBatchCalls is the limit on the calls of one JSON-RPC batch when
// Options.MaxBatchCalls is zero.
const DefaultMaxBatchCalls = jsonrpc.DefaultMaxBatchCalls

// MaxBatchCallsFlag is the server flag that sets Options.MaxBatchCalls, named in the
// error that refuses a larger batch.
const MaxBatchCallsFlag = "--max-rpc-batch"

// Options configures the API; zero fields take the defaults.
type Options struct {
	// MaxBodyBytes limits a request's body (--max-body-bytes); zero or negative means
	// jsonrpc.DefaultMaxBodyBytes. A larger body is answered with -32600.
	MaxBodyBytes int64
	// MaxBatchCalls limits the calls of one batch (--max-rpc-batch); zero or negative
	// means DefaultMaxBatchCalls. A larger batch is refused as a whole, before any call
	// runs, with one -32600 error of id null.
	MaxBatchCalls int
	// Logger receives what the access log cannot: a failed request's line when the
	// request carries no reqinfo (in tests); nil means slog.Default().
	Logger *slog.Logger
}

// NewHandler returns the JSON-RPC API over svc, for every path under Prefix: Path
// answers calls (and 405 to methods other than POST), any other path a JSON-RPC error
// with status 404. A panic is answered with -32603, like any internal error.
//
// A request whose calls fail on the server's side (an internal error, a database that
// cannot be reached) is logged once, however many of its calls failed: its first
// failure and their number are recorded for the access log (package reqinfo).
func NewHandler(svc *service.Service, opts Options) http.Handler {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	s := jsonrpc.NewServer()
	if opts.MaxBodyBytes > 0 {
		s.MaxBodyBytes = opts.MaxBodyBytes
	}
	s.MaxBatchCalls = opts.MaxBatchCalls
	s.MaxBatchCallsFlag = MaxBatchCallsFlag
	s.Logger = log
	s.ErrorMapper = mapError
	s.Before = func(r *http.Request) (context.Context, error) {
		key, err := authenticate(svc, r)
		if err != nil {
			return nil, err
		}
		return context.WithValue(r.Context(), keyCtx{}, key), nil
	}
	a := &api{svc: svc}
	s.Register("resource_utilization_detailed", a.detailed)
	s.Register("resource_utilization_summary", a.summary)
	registerPriceMethods(s, a)
	a.registerReservations(s)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				err := fmt.Errorf("panic in JSON-RPC handler: %v\n%s", v, debug.Stack())
				if !reqinfo.SetError(r.Context(), err) {
					log.Error("panic in JSON-RPC handler", "method", r.Method, "path", r.URL.Path, "err", err)
				}
				jsonrpc.WriteError(w, http.StatusInternalServerError, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "internal error"})
			}
		}()
		if r.URL.Path != Path {
			jsonrpc.WriteError(w, http.StatusNotFound, &jsonrpc.Error{Code: jsonrpc.CodeInvalidRequest,
				Message: "Invalid Request: " + r.URL.Path + " is no JSON-RPC endpoint; send calls to " + Path})
			return
		}
		reqinfo.SetRoute(r.Context(), route)
		s.ServeHTTP(w, r)
	})
}

type api struct{ svc *service.Service }

func keyFrom(ctx context.Context) cloudmeter.APIKey {
	k, _ := ctx.Value(keyCtx{}).(cloudmeter.APIKey)
	return k
}

// param names: cloudmeter's own and MetalSoft's documented ones.
var (
	pUser   = []string{"user", "strUserIDOwner"}
	pStart  = []string{"start", "strStartTimestamp"}
	pEnd    = []string{"end", "strEndTimestamp"}
	pInfras = []string{"infrastructure_ids", "arrInfrastructureIDs"}
	pDCs    = []string{"datacenter_names", "arrDatacenterNames"}
)

func arg(p jsonrpc.Params, i int, names []string) (json.RawMessage, bool) {
	for _, n := range names {
		if raw, ok := p.Arg(i, n); ok {
			return raw, true
		}
	}
	return nil, false
}

func invalidParams(msg string) error {
	return &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "Invalid params: " + msg}
}

// request reads (user, start, end, infrastructure_ids=null, datacenter_names=null).
func request(p jsonrpc.Params, withDatacenters bool) (service.ReportRequest, error) {
	var req service.ReportRequest
	max := 4
	if withDatacenters {
		max = 5
	}
	if !p.Named() && p.Len() > max {
		return req, invalidParams("at most " + strconv.Itoa(max) + " parameters are accepted")
	}
	raw, ok := arg(p, 0, pUser)
	if !ok || isNull(raw) {
		return req, invalidParams("user (parameter 1, the user id) is required")
	}
	user, err := intParam(raw)
	if err != nil {
		if !jsonrpc.ValidText(raw) {
			return req, valueInvalid("user")
		}
		return req, typeMismatch("user", "an integer user id")
	}
	req.UserID = user
	if req.Start, err = timeParam(p, 1, pStart); err != nil {
		return req, err
	}
	if req.End, err = timeParam(p, 2, pEnd); err != nil {
		return req, err
	}
	if raw, ok := arg(p, 3, pInfras); ok && !isNull(raw) {
		var ids []json.Number
		if err := strictUnmarshal(raw, &ids); err != nil {
			return req, typeMismatch("infrastructure_ids", "null or an array of integer infrastructure ids")
		}
		for _, n := range ids {
			id, err := strconv.ParseInt(string(n), 10, 64)
			if err != nil {
				return req, typeMismatch("infrastructure_ids", "null or an array of integer infrastructure ids")
			}
			req.InfrastructureIDs = append(req.InfrastructureIDs, id)
		}
	}
	if withDatacenters {
		if raw, ok := arg(p, 4, pDCs); ok && !isNull(raw) {
			if err := json.Unmarshal(raw, &req.Datacenters); err != nil {
				return req, typeMismatch("datacenter_names", "null or an array of datacenter names")
			}
			if !jsonrpc.ValidText(raw) {
				return req, valueInvalid("datacenter_names")
			}
		}
	}
	return req, nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// intParam accepts a JSON integer or a string of digits (MetalSoft names the user
// parameter strUserIDOwner, and some clients send it as a string).
func intParam(raw json.RawMessage) (int64, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 1 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, err
		}
		return strconv.ParseInt(s, 10, 64)
	}
	return strconv.ParseInt(string(raw), 10, 64)
}

func strictUnmarshal(raw json.RawMessage, v any) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	return d.Decode(v)
}

func timeParam(p jsonrpc.Params, i int, names []string) (int64, error) {
	raw, ok := arg(p, i, names)
	if !ok || isNull(raw) {
		return 0, invalidParams(names[0] + " (parameter " + strconv.Itoa(i+1) + ", an RFC 3339 timestamp) is required")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, typeMismatch(names[0], "a string holding an RFC 3339 timestamp such as 2024-12-31T23:59:59Z")
	}
	if !jsonrpc.ValidText(raw) {
		return 0, valueInvalid(names[0])
	}
	return cloudmeter.ParseTime(names[0], s)
}

func (a *api) detailed(ctx context.Context, p jsonrpc.Params) (any, error) {
	req, err := request(p, true)
	if err != nil {
		return nil, err
	}
	u, err := a.svc.Utilization(ctx, keyFrom(ctx), req)
	if err != nil {
		return nil, err
	}
	traffic, err := u.TrafficTotals()
	if err != nil {
		return nil, err
	}
	return detailedReport{u, traffic}, nil
}

func (a *api) summary(ctx context.Context, p jsonrpc.Params) (any, error) {
	req, err := request(p, true)
	if err != nil {
		return nil, err
	}
	u, err := a.svc.Utilization(ctx, keyFrom(ctx), req)
	if err != nil {
		return nil, err
	}
	totals, err := u.Summary()
	if err != nil {
		return nil, err
	}
	download, upload, err := u.TrafficByDirection()
	if err != nil {
		return nil, err
	}
	return summaryReport{u, totals, download, upload}, nil
}
