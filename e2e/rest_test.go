package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/cloudmeter/cloudmeter/demo"
	"github.com/cloudmeter/cloudmeter/httpapi"
	"github.com/cloudmeter/cloudmeter/internal/e2etest"
	"github.com/cloudmeter/cloudmeter/server"
)

// restError decodes the native error body {"error":{"code":...,"message":...,"details":...}}
// and checks the status.
func restError(t *testing.T, r *e2etest.Response, status int, code string) (message string, details any) {
	t.Helper()
	if r.Status != status {
		t.Errorf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json: %s", ct, r.Body)
	}
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Details any    `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, r.Body)
	}
	if body.Error.Code != code {
		t.Errorf("error code %q, want %q: %s", body.Error.Code, code, r.Body)
	}
	if body.Error.Message == "" {
		t.Errorf("error has no message: %s", r.Body)
	}
	return body.Error.Message, body.Error.Details
}

// eventErrors decodes the details of a 400 on ingest.
func eventErrors(t *testing.T, details any) []map[string]any {
	t.Helper()
	list, ok := details.([]any)
	if !ok {
		t.Fatalf("details %v is not a list of event errors", details)
	}
	out := make([]map[string]any, len(list))
	for i, d := range list {
		out[i], _ = d.(map[string]any)
	}
	return out
}

func hasEventError(list []map[string]any, index int, field string) bool {
	for _, e := range list {
		if n, _ := e["index"].(float64); int(n) == index && e["field"] == field && e["reason"] != "" && e["reason"] != nil {
			return true
		}
	}
	return false
}

// TestIngestErrors checks the native ingest API's answers to bad batches: nothing of a
// rejected batch is stored, and a resend counts nothing twice.
func TestIngestErrors(t *testing.T) { e2etest.OnEachEngine(t, testIngestErrors) }

func testIngestErrors(t *testing.T, eng e2etest.Engine) {
	srv := e2etest.StartServer(t, eng)
	srv.LoadSeed(t)
	seedReport := srv.RPC(t, srv.AdminKey, seedRequest).Body
	unchanged := func(t *testing.T) {
		t.Helper()
		if got := srv.RPC(t, srv.AdminKey, seedRequest).Body; !bytes.Equal(got, seedReport) {
			t.Errorf("the report changed:\n%s\nwant\n%s", got, seedReport)
		}
	}
	notStored := func(t *testing.T, product string) {
		t.Helper()
		r := srv.Do(t, http.MethodGet, "/api/v1/resources/"+product, srv.AdminKey, "", nil)
		restError(t, r, http.StatusNotFound, "not_found")
	}

	t.Run("SingleInvalidEvent", func(t *testing.T) {
		ev := provisioned("bad-1", "2016-03-01T00:00:00Z", 6001, "instance", 1, 3668, "uk-reading", nil)
		delete(ev, "time")
		body, _ := json.Marshal(ev)
		r := srv.Do(t, http.MethodPost, "/api/v1/events", srv.AdminKey, e2etest.CTEvent, body)
		msg, details := restError(t, r, http.StatusBadRequest, "bad_request")
		if !strings.Contains(msg, "time") {
			t.Errorf("message %q does not name the field time", msg)
		}
		if list := eventErrors(t, details); !hasEventError(list, 0, "time") {
			t.Errorf("details %v do not name index 0, field time and a reason", list)
		}
		notStored(t, "6001")
	})

	t.Run("BatchWithOneInvalidEvent", func(t *testing.T) {
		good := provisioned("mixed-1", "2016-03-01T00:00:00Z", 6002, "instance", 1, 3668, "uk-reading", nil)
		bad := provisioned("mixed-2", "2016-03-01T00:00:00Z", 6003, "instance", 1, 3668, "uk-reading", nil)
		bad["data"].(map[string]any)["product_id"] = "six thousand"
		r := srv.Do(t, http.MethodPost, "/api/v1/events", srv.AdminKey, e2etest.CTBatch, batch(good, bad))
		msg, details := restError(t, r, http.StatusBadRequest, "bad_request")
		if !strings.Contains(msg, "product_id") {
			t.Errorf("message %q does not name the field", msg)
		}
		list := eventErrors(t, details)
		if !hasEventError(list, 1, "data.product_id") {
			t.Errorf("details %v do not name index 1, field data.product_id and a reason", list)
		}
		if hasEventError(list, 0, "") || len(list) != 1 {
			t.Errorf("details %v, want only the bad event", list)
		}
		notStored(t, "6002")
		unchanged(t)
	})

	t.Run("ResendIsDuplicate", func(t *testing.T) {
		res := srv.PostEvents(t, demo.SeedEvents)
		if res.Accepted != 0 || res.Duplicates != 12 {
			t.Errorf("resent seed: accepted %d, duplicates %d; want 0 and 12", res.Accepted, res.Duplicates)
		}
		unchanged(t)
		// Reordered, the same events are still the same events.
		var evs []json.RawMessage
		if err := json.Unmarshal(demo.SeedEvents, &evs); err != nil {
			t.Fatal(err)
		}
		for i, j := 0, len(evs)-1; i < j; i, j = i+1, j-1 {
			evs[i], evs[j] = evs[j], evs[i]
		}
		body, _ := json.Marshal(evs)
		if res := srv.PostEvents(t, body); res.Accepted != 0 || res.Duplicates != 12 {
			t.Errorf("resent seed reversed: accepted %d, duplicates %d; want 0 and 12", res.Accepted, res.Duplicates)
		}
		unchanged(t)
	})

	t.Run("Conflict", func(t *testing.T) {
		fresh := provisioned("conflict-new", "2016-03-01T00:00:00Z", 6004, "instance", 1, 3668, "uk-reading", nil)
		var seed []map[string]any
		if err := json.Unmarshal(demo.SeedEvents, &seed); err != nil {
			t.Fatal(err)
		}
		var changed map[string]any
		for _, e := range seed {
			if e["id"] == "op-1002" { // the instance's delete
				changed = e
			}
		}
		changed["time"] = "2016-02-03T00:00:00Z"
		r := srv.Do(t, http.MethodPost, "/api/v1/events", srv.AdminKey, e2etest.CTBatch, batch(fresh, changed))
		msg, details := restError(t, r, http.StatusConflict, "conflict")
		if !strings.Contains(msg, "op-1002") || !strings.Contains(msg, "provisioner/uk-reading") {
			t.Errorf("message %q does not name the event (source provisioner/uk-reading, id op-1002)", msg)
		}
		if list := eventErrors(t, details); len(list) != 1 || list[0]["id"] != "op-1002" || list[0]["index"] != float64(1) {
			t.Errorf("details %v, want the conflict of index 1, id op-1002", list)
		}
		notStored(t, "6004")
		unchanged(t)
		// The fresh event alone is new: it was not stored by the rejected batch.
		if res := srv.PostEvents(t, batch(fresh)); res.Accepted != 1 || res.Duplicates != 0 {
			t.Errorf("fresh event after the conflict: accepted %d, duplicates %d; want 1 and 0", res.Accepted, res.Duplicates)
		}
	})

	t.Run("ConflictInsideBatch", func(t *testing.T) {
		a := provisioned("twice", "2016-03-01T00:00:00Z", 6005, "instance", 1, 3668, "uk-reading", nil)
		b := provisioned("twice", "2016-03-01T00:00:01Z", 6005, "instance", 1, 3668, "uk-reading", nil)
		r := srv.Do(t, http.MethodPost, "/api/v1/events", srv.AdminKey, e2etest.CTBatch, batch(a, b))
		msg, _ := restError(t, r, http.StatusConflict, "conflict")
		if !strings.Contains(msg, "twice") {
			t.Errorf("message %q does not name the event id", msg)
		}
		notStored(t, "6005")
	})

	t.Run("BadBodies", func(t *testing.T) {
		for _, c := range []struct{ name, ct, body string }{
			{"NotJSON", e2etest.CTBatch, `[{"specversion":`},
			{"Empty", e2etest.CTBatch, ``},
			{"EmptyBatch", e2etest.CTBatch, `[]`},
			{"ObjectAsBatch", e2etest.CTBatch, `{}`},
			{"ArrayAsEvent", e2etest.CTEvent, `[]`},
			{"UnsupportedContentType", "text/plain", string(demo.SeedEvents)},
			{"NotUTF8", e2etest.CTBatch, "[\"\xff\"]"},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := srv.Do(t, http.MethodPost, "/api/v1/events", srv.AdminKey, c.ct, []byte(c.body))
				restError(t, r, http.StatusBadRequest, "bad_request")
			})
		}
	})
}

// TestAnomalies checks GET /api/v1/anomalies: impossible histories and unpriced usage.
func TestAnomalies(t *testing.T) { e2etest.OnEachEngine(t, testAnomalies) }

func testAnomalies(t *testing.T, eng e2etest.Engine) {
	srv := e2etest.StartServer(t, eng)
	srv.LoadSeed(t)
	srv.PostEvents(t, batch(
		// Deleted before it was provisioned.
		deleted("a-del", "2016-03-01T00:00:00Z", 8001),
		provisioned("a-prov", "2016-03-02T00:00:00Z", 8001, "instance", 1, 3668, "uk-reading", nil),
		// Provisioned twice.
		provisioned("b-prov-1", "2016-03-01T00:00:00Z", 8002, "drive", 1, 3668, "uk-reading", map[string]any{"drive_size_mbytes": 1024, "storage_type": "iscsi_ssd"}),
		provisioned("b-prov-2", "2016-03-01T01:00:00Z", 8002, "drive", 1, 3668, "uk-reading", map[string]any{"drive_size_mbytes": 1024, "storage_type": "iscsi_ssd"}),
		deleted("b-del", "2016-03-01T01:59:59Z", 8002),
	))
	list := func(t *testing.T, key, query string) []map[string]any {
		t.Helper()
		r := srv.Do(t, http.MethodGet, "/api/v1/anomalies"+query, key, "", nil)
		e2etest.MustStatus(t, r, http.StatusOK, "GET /api/v1/anomalies"+query)
		var body struct {
			Anomalies []map[string]any `json:"anomalies"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatalf("anomalies: %v: %s", err, r.Body)
		}
		return body.Anomalies
	}
	find := func(list []map[string]any, product float64, kind string) map[string]any {
		for _, a := range list {
			if a["product_id"] == product && a["kind"] == kind {
				return a
			}
		}
		return nil
	}

	all := list(t, srv.AdminKey, "")
	if a := find(all, 8001, "before_provision"); a == nil || a["event_id"] != "a-del" || a["event_source"] != testSource {
		t.Errorf("no before_provision anomaly for the delete a-del of product 8001: %v", all)
	}
	if a := find(all, 8002, "duplicate_provision"); a == nil || a["event_id"] != "b-prov-2" {
		t.Errorf("no duplicate_provision anomaly for b-prov-2 of product 8002: %v", all)
	}
	if a := find(all, 2416, "unpriced"); a != nil {
		t.Errorf("instance 2416 is priced by the seed book, yet: %v", a)
	}
	// The impossible histories are rated by their documented rule: the earliest
	// provision stands, the early delete is ignored.
	res := rpcResult(t, srv.RPC(t, srv.AdminKey, detailed(1, "2016-03-01T00:00:00Z", "2016-03-31T23:59:59Z")))
	if recs := records(t, res, 3668, "drive"); len(recs) != 1 || recs[0]["start_timestamp"] != "2016-03-01T00:00:00Z" || recs[0]["quantity"] != "7200" {
		t.Errorf("drive 8002 records %v, want one from the first provision, 7200 seconds", recs)
	}

	// A book without any instance price leaves the instances unpriced: cost 0, and an
	// unpriced anomaly. It is refused unless forced, since the book in force prices them.
	e2etest.MustStatus(t, srv.Do(t, http.MethodPut, "/api/v1/prices?force=true", srv.AdminKey, "application/json",
		seedPricesWith(t, demo.SeedPrices, "instance")), http.StatusOK, "PUT /api/v1/prices?force=true")
	all = list(t, srv.AdminKey, "")
	a := find(all, 2416, "unpriced")
	if a == nil {
		t.Fatalf("no unpriced anomaly for instance 2416: %v", all)
	}
	if msg, _ := a["message"].(string); !strings.Contains(msg, "instance") {
		t.Errorf("unpriced message %q does not say what is unpriced", msg)
	}
	if got := list(t, srv.AdminKey, "?product_id=2416"); len(got) == 0 || find(got, 2416, "unpriced") == nil {
		t.Errorf("?product_id=2416: %v", got)
	} else {
		for _, a := range got {
			if a["product_id"] != float64(2416) {
				t.Errorf("?product_id=2416 lists product %v", a["product_id"])
			}
		}
	}
	res = rpcResult(t, srv.RPC(t, srv.AdminKey, detailed(1, seedStart, seedEnd, []int{3668})))
	var recs []map[string]any
	for _, rec := range records(t, res, 3668, "instance") {
		if str(rec["product_id"]) == "2416" {
			recs = append(recs, rec)
		}
	}
	if len(recs) != 1 {
		t.Errorf("unpriced instance 2416: %d records, want 1 (never dropped)", len(recs))
	} else {
		wantRecord{ProductID: 2416, Start: "2016-02-01T12:58:00Z", End: "2016-02-02T12:23:00Z", Quantity: "84301",
			CostPerUnit: "0.00000000", Cost: "0.00000000"}.check(t, "unpriced instance", recs[0])
	}

	// A key without utilization_reports_read sees only its own user's anomalies.
	user2 := srv.CreateKey(t, 2, "events_write")
	if got := list(t, user2, ""); len(got) != 0 {
		t.Errorf("user 2 sees anomalies of others: %v", got)
	}
	r := srv.Do(t, http.MethodGet, "/api/v1/anomalies?user=1", user2, "", nil)
	restError(t, r, http.StatusForbidden, "forbidden")
	r = srv.Do(t, http.MethodGet, "/api/v1/anomalies?limit=many", srv.AdminKey, "", nil)
	restError(t, r, http.StatusBadRequest, "bad_request")
}

// TestRESTBasics checks resources, authentication, permissions, unknown routes and
// health endpoints of the native API.
func TestRESTBasics(t *testing.T) { e2etest.OnEachEngine(t, testRESTBasics) }

func testRESTBasics(t *testing.T, eng e2etest.Engine) {
	srv := e2etest.StartServer(t, eng)
	srv.LoadSeed(t)
	user2 := srv.CreateKey(t, 2, "prices_read", "utilization_reports_read")

	t.Run("Resource", func(t *testing.T) {
		r := srv.Do(t, http.MethodGet, "/api/v1/resources/2416", srv.AdminKey, "", nil)
		e2etest.MustStatus(t, r, http.StatusOK, "GET /api/v1/resources/2416")
		m := r.Object(t)
		for k, want := range map[string]string{"product_id": "2416", "user_id": "1", "infrastructure_id": "3668", "datacenter": "uk-reading",
			"resource_type": "instance", "label": "instance-2416", "provisioned_at": "2016-02-01T12:58:00Z", "deleted_at": "2016-02-02T12:23:00Z", "currency": "GBP"} {
			if str(m[k]) != want {
				t.Errorf("%s = %v, want %s", k, m[k], want)
			}
		}
		segs, _ := m["segments"].([]any)
		if len(segs) != 1 {
			t.Fatalf("segments %v, want one", m["segments"])
		}
		seg := segs[0].(map[string]any)
		if seg["start"] != "2016-02-01T12:58:00Z" || seg["end"] != "2016-02-02T12:23:00Z" || seg["cost_per_unit"] != "0.31000000" {
			t.Errorf("segment %v, want 2016-02-01T12:58:00Z..2016-02-02T12:23:00Z at 0.31000000", seg)
		}
	})
	t.Run("ResourceNotFound", func(t *testing.T) {
		msg, _ := restError(t, srv.Do(t, http.MethodGet, "/api/v1/resources/999999", srv.AdminKey, "", nil), http.StatusNotFound, "not_found")
		if !strings.Contains(msg, "999999") {
			t.Errorf("message %q does not name the product", msg)
		}
	})
	t.Run("ResourceBadID", func(t *testing.T) {
		restError(t, srv.Do(t, http.MethodGet, "/api/v1/resources/abc", srv.AdminKey, "", nil), http.StatusBadRequest, "bad_request")
	})
	t.Run("Unauthenticated", func(t *testing.T) {
		for _, path := range []string{"/api/v1/prices", "/api/v1/resources/2416", "/api/v1/anomalies"} {
			r := srv.Do(t, http.MethodGet, path, "", "", nil)
			restError(t, r, http.StatusUnauthorized, "unauthorized")
			if r.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("GET %s: 401 without WWW-Authenticate", path)
			}
		}
		r := srv.Do(t, http.MethodPost, "/api/v1/events", "", e2etest.CTBatch, demo.SeedEvents)
		restError(t, r, http.StatusUnauthorized, "unauthorized")
		r = srv.Do(t, http.MethodGet, "/api/v1/prices", "1:nosuchkey", "", nil)
		restError(t, r, http.StatusUnauthorized, "unauthorized")
	})
	t.Run("Forbidden", func(t *testing.T) {
		msg, _ := restError(t, srv.Do(t, http.MethodPut, "/api/v1/prices", user2, "application/json", demo.SeedPrices), http.StatusForbidden, "forbidden")
		if !strings.Contains(msg, "prices_write") {
			t.Errorf("message %q does not name the missing permission", msg)
		}
		// Permission comes before the body: a key that may not write prices is refused
		// for the permission, even with a body over the size limit.
		huge := bytes.Repeat([]byte(" "), 32<<20+1)
		msg, _ = restError(t, srv.Do(t, http.MethodPut, "/api/v1/prices", user2, "application/json", huge), http.StatusForbidden, "forbidden")
		if !strings.Contains(msg, "prices_write") {
			t.Errorf("message %q for an oversized body does not name the missing permission", msg)
		}
		msg, _ = restError(t, srv.Do(t, http.MethodPost, "/api/v1/events", user2, e2etest.CTBatch, demo.SeedEvents), http.StatusForbidden, "forbidden")
		if !strings.Contains(msg, "events_write") {
			t.Errorf("message %q does not name the missing permission", msg)
		}
		restError(t, srv.Do(t, http.MethodGet, "/api/v1/keys", user2, "", nil), http.StatusForbidden, "forbidden")
		user3 := srv.CreateKey(t, 3, "prices_read")
		// Another user's product is answered as a missing one: ids cannot be probed.
		restError(t, srv.Do(t, http.MethodGet, "/api/v1/resources/2416", user3, "", nil), http.StatusNotFound, "not_found")
		// With utilization_reports_read, user 2 reads user 1's resource.
		e2etest.MustStatus(t, srv.Do(t, http.MethodGet, "/api/v1/resources/2416", user2, "", nil), http.StatusOK, "user 2 with utilization_reports_read")
	})
	t.Run("UnknownRoute", func(t *testing.T) {
		msg, _ := restError(t, srv.Do(t, http.MethodGet, "/api/v1/nope", srv.AdminKey, "", nil), http.StatusNotFound, "not_found")
		if !strings.Contains(msg, "/api/v1/nope") {
			t.Errorf("message %q does not name the route", msg)
		}
		r := srv.Do(t, http.MethodGet, "/nope", "", "", nil)
		if r.Status != http.StatusNotFound {
			t.Errorf("GET /nope: status %d, want 404", r.Status)
		}
	})
	t.Run("WrongMethod", func(t *testing.T) {
		// The route exists: the answer is 405 with the allowed methods, not "no such route".
		r := srv.Do(t, http.MethodDelete, "/api/v1/prices", srv.AdminKey, "", nil)
		if r.Status != http.StatusMethodNotAllowed || !strings.Contains(r.Header.Get("Allow"), "PUT") {
			t.Errorf("DELETE /api/v1/prices: status %d, Allow %q; want 405 allowing GET and PUT: %s", r.Status, r.Header.Get("Allow"), r.Body)
		}
	})
	t.Run("BadKeyBody", func(t *testing.T) {
		msg, _ := restError(t, srv.Do(t, http.MethodPost, "/api/v1/keys", srv.AdminKey, "application/json", []byte(`[]`)), http.StatusBadRequest, "bad_request")
		if strings.Contains(msg, "Go value") || strings.Contains(msg, "struct {") {
			t.Errorf("message %q shows Go internals", msg)
		}
	})
	t.Run("Health", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/readyz", "/openapi.yaml", "/metrics"} {
			e2etest.MustStatus(t, srv.Do(t, http.MethodGet, path, "", "", nil), http.StatusOK, "GET "+path)
		}
	})
}

// TestPriceBookErrors checks that a rejected price book is answered 400 with a message
// naming the entry and field at fault, and changes nothing.
func TestPriceBookErrors(t *testing.T) { e2etest.OnEachEngine(t, testPriceBookErrors) }

func testPriceBookErrors(t *testing.T, eng e2etest.Engine) {
	srv := e2etest.StartServer(t, eng)
	srv.PutPrices(t, demo.SeedPrices)
	entry := `{"resource_type":"instance","price":"0.31","unit":"item","period_seconds":3600}`
	book := func(e string) []byte {
		return []byte(`{"currency":"GBP","entries":[` + entry + `,` + e + `]}`)
	}
	cases := []struct {
		name string
		body []byte
		// words the message must contain
		words []string
	}{
		{"NegativePrice", book(`{"resource_type":"instance","price":"-1","unit":"item","period_seconds":3600}`), []string{"entries[1].price", "negative"}},
		{"PriceNotDecimal", book(`{"resource_type":"instance","price":"abc","unit":"item","period_seconds":3600}`), []string{"entries[1].price"}},
		{"ValidFromNotATimestamp", book(`{"resource_type":"instance","price":"0.31","unit":"item","period_seconds":3600,"valid_from":"2016"}`), []string{"entries[1].valid_from"}},
		{"PeriodNotANumber", book(`{"resource_type":"instance","price":"0.31","unit":"item","period_seconds":"3600"}`), []string{"entries[1].period_seconds"}},
		{"UnknownType", book(`{"resource_type":"gpu","price":"0.31","unit":"item","period_seconds":3600}`), []string{"entries[1].resource_type"}},
		{"NoPeriod", book(`{"resource_type":"instance","price":"0.31","unit":"item"}`), []string{"entries[1].period_seconds"}},
		{"UnknownField", book(`{"resource_type":"instance","price":"0.31","unit":"item","period_seconds":3600,"colour":"red"}`), []string{"colour"}},
		{"NotJSON", []byte(`{"currency":"GBP","entries":[`), []string{"price book"}},
		{"BadCurrency", []byte(`{"currency":"pounds","entries":[` + entry + `]}`), []string{"currency"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := srv.Do(t, http.MethodPut, "/api/v1/prices", srv.AdminKey, "application/json", c.body)
			msg, _ := restError(t, r, http.StatusBadRequest, "bad_request")
			for _, w := range c.words {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not name %q", msg, w)
				}
			}
		})
	}
	// The book in force is still the first version.
	r := srv.Do(t, http.MethodGet, "/api/v1/prices", srv.AdminKey, "", nil)
	if v := r.Header.Get("X-Price-Book-Version"); v != "1" {
		t.Errorf("after rejected books, version %q, want 1", v)
	}
}

// TestLimits checks the configured body and batch limits: 413 on the native API, -32600
// on the JSON-RPC API, never a 500, and nothing stored.
func TestLimits(t *testing.T) { e2etest.OnEachEngine(t, testLimits) }

func testLimits(t *testing.T, eng e2etest.Engine) {
	srv := e2etest.StartServerWith(t, eng, server.Config{Limits: httpapi.Limits{MaxBodyBytes: 4096, MaxBatchEvents: 3}})
	big := bytes.Repeat([]byte(" "), 5000)

	t.Run("EventsBody", func(t *testing.T) {
		body := append(append([]byte{}, demo.SeedEvents...), big...)
		msg, _ := restError(t, srv.Do(t, http.MethodPost, "/api/v1/events", srv.AdminKey, e2etest.CTBatch, body), http.StatusRequestEntityTooLarge, "too_large")
		if !strings.Contains(msg, "4096") {
			t.Errorf("message %q does not give the limit", msg)
		}
	})
	t.Run("EventsBodyChunked", func(t *testing.T) {
		body := append(append([]byte{}, demo.SeedEvents...), big...)
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/events", io.MultiReader(bytes.NewReader(body))) // no length: chunked
		req.Header.Set("Authorization", "Bearer "+srv.AdminKey)
		req.Header.Set("Content-Type", e2etest.CTBatch)
		restError(t, srv.Send(t, req), http.StatusRequestEntityTooLarge, "too_large")
	})
	t.Run("Prices", func(t *testing.T) {
		body := append(append([]byte{}, demo.SeedPrices...), big...)
		restError(t, srv.Do(t, http.MethodPut, "/api/v1/prices", srv.AdminKey, "application/json", body), http.StatusRequestEntityTooLarge, "too_large")
	})
	t.Run("BatchEvents", func(t *testing.T) {
		var evs []json.RawMessage
		if err := json.Unmarshal(demo.SeedEvents, &evs); err != nil {
			t.Fatal(err)
		}
		body, _ := json.Marshal(evs[:4])
		msg, _ := restError(t, srv.Do(t, http.MethodPost, "/api/v1/events", srv.AdminKey, e2etest.CTBatch, body), http.StatusRequestEntityTooLarge, "too_large")
		if !strings.Contains(msg, "3") {
			t.Errorf("message %q does not give the limit", msg)
		}
	})
	t.Run("RPCBody", func(t *testing.T) {
		body := `{"id":1,"jsonrpc":"2.0","method":"resource_utilization_detailed","params":[1,"2016-01-01T00:00:00Z","2016-12-31T23:59:59Z"]}` + string(big)
		code, msg := rpcError(t, srv.RPC(t, srv.AdminKey, body))
		if code != -32600 || !strings.Contains(msg, "4096") {
			t.Errorf("code %d %q, want -32600 naming the limit 4096", code, msg)
		}
	})
	t.Run("NothingStored", func(t *testing.T) {
		restError(t, srv.Do(t, http.MethodGet, "/api/v1/resources/2416", srv.AdminKey, "", nil), http.StatusNotFound, "not_found")
		restError(t, srv.Do(t, http.MethodGet, "/api/v1/prices", srv.AdminKey, "", nil), http.StatusNotFound, "not_found")
	})
}

// TestNeverA500 sends odd requests to every surface: each gets a 4xx or a JSON-RPC
// error, never a 5xx or an internal error (the harness checks every answer).
func TestNeverA500(t *testing.T) { e2etest.OnEachEngine(t, testNeverA500) }

func testNeverA500(t *testing.T, eng e2etest.Engine) {
	srv := e2etest.StartServer(t, eng)
	srv.LoadSeed(t)
	admin := srv.AdminKey
	for _, c := range []struct{ method, path, ct, body string }{
		{"GET", "/api/v1/resources/99999999999999999999", "", ""},
		{"GET", "/api/v1/resources/-1", "", ""},
		{"GET", "/api/v1/resources/0", "", ""},
		{"GET", "/api/v1/resources/9223372036854775807", "", ""},
		{"GET", "/api/v1/anomalies?user=-1", "", ""},
		{"GET", "/api/v1/anomalies?user=99999999999999999999", "", ""},
		{"GET", "/api/v1/anomalies?limit=99999999999", "", ""},
		{"GET", "/api/v1/users/1/utilization?from=2016-01-01T00:00:00Z&to=2016-12-31T23:59:59Z", "", ""},
		{"GET", "/api/v1/users/1/utilization?from=x&to=y", "", ""},
		{"GET", "/api/v1/users/1/utilization?from=1970-01-01T00:00:00Z&to=9999-12-31T23:59:59Z", "", ""},
		{"GET", "/api/v1/users/1/utilization?from=2016-01-01T00:00:00Z&to=2016-12-31T23:59:59Z&infrastructure_id=x", "", ""},
		{"DELETE", "/api/v1/prices", "", ""},
		{"POST", "/api/v1/prices", "application/json", "{}"},
		{"PUT", "/api/v1/prices", "application/json", "null"},
		{"PUT", "/api/v1/prices", "application/json", `{"currency":"GBP","entries":[null]}`},
		{"PUT", "/api/v1/prices", "application/json", `{"currency":"GBP","entries":[{"resource_type":"instance","price":"99999999999999999999999","unit":"item","period_seconds":1}]}`},
		{"POST", "/api/v1/keys", "application/json", `{"user_id":-1,"permissions":["admin"]}`},
		{"POST", "/api/v1/keys", "application/json", `{"user_id":1,"permissions":["root"]}`},
		{"POST", "/api/v1/keys", "application/json", `[]`},
		{"DELETE", "/api/v1/keys/nosuchkey", "", ""},
		{"POST", "/api/v1/events", e2etest.CTBatch, `[null]`},
		{"POST", "/api/v1/events", e2etest.CTBatch, `[{"specversion":"1.0","id":"x","source":"s","type":"cloudmeter.resource.deleted","time":"2016-01-01T00:00:00Z","data":{"product_id":99999999999999999999}}]`},
		{"POST", "/api/v1/events", e2etest.CTBatch, `[{"specversion":"1.0","id":"x","source":"s","type":"cloudmeter.resource.deleted","time":"10000-01-01T00:00:00Z","data":{"product_id":1}}]`},
		{"POST", "/api/v1/events", e2etest.CTBatch, `[{"specversion":"1.0","id":"x","source":"s","type":"cloudmeter.resource.nope","time":"2016-01-01T00:00:00Z","data":{}}]`},
		{"POST", "/api/v1/events", e2etest.CTBatch, strings.Repeat("[", 100000) + strings.Repeat("]", 100000)},
		{"POST", e2etest.RPCPath, "", strings.Repeat("[", 100000) + strings.Repeat("]", 100000)},
		{"POST", e2etest.RPCPath, "", `[]`},
		{"POST", e2etest.RPCPath, "", `[1,2]`},
		{"POST", e2etest.RPCPath, "", `{"jsonrpc":"2.0","id":{},"method":"resource_utilization_detailed","params":[]}`},
		{"POST", e2etest.RPCPath, "", `{"jsonrpc":"2.0","id":1,"method":"resource_utilization_detailed","params":[9223372036854775808,"2016-01-01T00:00:00Z","2016-12-31T23:59:59Z"]}`},
		{"POST", e2etest.RPCPath, "", `{"jsonrpc":"2.0","id":1,"method":"resource_utilization_detailed","params":[1e400,"2016-01-01T00:00:00Z","2016-12-31T23:59:59Z"]}`},
		{"POST", e2etest.RPCPath, "", `{"jsonrpc":"2.0","id":1,"method":"resource_utilization_detailed","params":[1,"1970-01-01T00:00:00Z","1970-01-01T00:00:00Z",[99999999999999999999]]}`},
		{"POST", e2etest.RPCPath, "", `{"jsonrpc":"2.0","id":1,"method":"resource_utilization_detailed","params":[1,"9999-01-01T00:00:00Z","9999-12-31T23:59:59Z"]}`},
		{"POST", e2etest.RPCPath, "", `{"jsonrpc":"2.0","id":1,"method":"resource_utilization_summary","params":[1,"2016-01-01T00:00:00Z","2016-12-31T23:59:59Z",null,null]}`},
	} {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			var body []byte
			if c.body != "" {
				body = []byte(c.body)
			}
			r := srv.Do(t, c.method, c.path, admin, c.ct, body)
			var compact bytes.Buffer
			if json.Compact(&compact, r.Body) != nil {
				compact.Write(r.Body)
			}
			t.Logf("%d %.300s", r.Status, compact.Bytes())
			if c.path == e2etest.RPCPath {
				if r.Status != http.StatusOK || len(r.Body) == 0 {
					t.Errorf("JSON-RPC: status %d, body %q", r.Status, r.Body)
				}
				if strings.Contains(string(r.Body), `"code":-32603`) {
					t.Errorf("JSON-RPC internal error: %s", r.Body)
				}
			} else if r.Status >= 300 && !json.Valid(r.Body) {
				t.Errorf("status %d with a body that is not JSON: %s", r.Status, r.Body)
			}
		})
	}
}
