package jsonrpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cloudmeter/cloudmeter/internal/testutil"
)

type ctxKey struct{}

// report is a result with the AppendJSON fast path.
type report struct{ rows int }

func (r report) AppendJSON(buf []byte) []byte {
	buf = append(buf, `{"rows":[`...)
	for i := range r.rows {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = fmt.Appendf(buf, "%d", i)
	}
	return append(buf, "]}"...)
}

// brokenReport panics half-way through AppendJSON.
type brokenReport struct{}

func (brokenReport) AppendJSON(buf []byte) []byte {
	buf = append(buf, `{"partial":`...)
	panic("half-written report")
}

type testServer struct {
	*Server
	logs  *testutil.SyncBuffer
	calls atomic.Int64 // calls of "count"
}

var errQuota = &Error{Code: -32001, Message: "quota exceeded"}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	ts := &testServer{Server: NewServer(), logs: &testutil.SyncBuffer{}}
	ts.Logger = slog.New(slog.NewTextHandler(ts.logs, nil))
	ts.Register("echo", func(ctx context.Context, p Params) (any, error) { return p, nil })
	ts.Register("add", func(ctx context.Context, p Params) (any, error) {
		var a, b int
		for i, dst := range []*int{&a, &b} {
			raw, ok := p.Arg(i, []string{"a", "b"}[i])
			if !ok {
				return nil, &Error{Code: CodeInvalidParams, Message: "missing parameter"}
			}
			if err := json.Unmarshal(raw, dst); err != nil {
				return nil, &Error{Code: CodeInvalidParams, Message: "parameters must be integers"}
			}
		}
		return a + b, nil
	})
	ts.Register("fail", func(ctx context.Context, p Params) (any, error) { return nil, errQuota })
	ts.Register("wrapped", func(ctx context.Context, p Params) (any, error) {
		return nil, fmt.Errorf("checking quota: %w", errQuota)
	})
	ts.Register("plain", func(ctx context.Context, p Params) (any, error) {
		return nil, errors.New("database is down")
	})
	ts.Register("panic", func(ctx context.Context, p Params) (any, error) { panic("boom: secret detail") })
	ts.Register("report", func(ctx context.Context, p Params) (any, error) { return report{rows: 3}, nil })
	ts.Register("broken", func(ctx context.Context, p Params) (any, error) { return brokenReport{}, nil })
	ts.Register("unmarshalable", func(ctx context.Context, p Params) (any, error) { return func() {}, nil })
	ts.Register("ctx", func(ctx context.Context, p Params) (any, error) { return ctx.Value(ctxKey{}), nil })
	ts.Register("count", func(ctx context.Context, p Params) (any, error) { return ts.calls.Add(1), nil })
	return ts
}

// post sends body to h as a POST without a Content-Type, as curl -d would not
// send a JSON one either.
func post(t *testing.T, h http.Handler, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/api", strings.NewReader(body))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// checkJSONResponse checks the status and headers of a JSON-RPC answer and
// returns its body.
func checkJSONResponse(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Errorf("status = %d, want 200", w.Code)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if !json.Valid(w.Body.Bytes()) {
		t.Errorf("response is not valid JSON: %s", w.Body)
	}
	return w.Body.String()
}

var discardLogger = slog.New(slog.DiscardHandler)

func echoMethod(ctx context.Context, p Params) (any, error) { return p, nil }
