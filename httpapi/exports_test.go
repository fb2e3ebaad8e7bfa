package httpapi_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// exportCases exercise the export target routes: a target added by the admin, listed
// with its outbox's status and without its token, refused with bad fields, removed.
func exportCases() []tcase {
	const (
		list   = "GET /api/v1/exports"
		put    = "PUT /api/v1/exports/{target_id}"
		del    = "DELETE /api/v1/exports/{target_id}"
		json_  = "application/json"
		token  = "tok-export-8d1c44e0a2"
		target = `{"url":"https://billing.example.com","configuration_id":"icfg_cloudmeter_test","access_token":"` + token + `","users":[1,7],"schedule_seconds":600}`
		path   = "/api/v1/exports/billing-eu"
	)
	noToken := func(t *testing.T, e *env, body []byte) {
		if strings.Contains(string(body), token) {
			t.Errorf("the answer shows the access token: %s", body)
		}
	}
	return []tcase{
		{name: "exports no key", op: list, status: 401},
		{name: "exports not admin", op: list, key: "reader", status: 403},
		{name: "export put no key", op: put, url: path, ctype: json_, body: target, status: 401},
		{name: "export put not admin", op: put, url: path, key: "reader", ctype: json_, body: target, status: 403},
		{name: "export put no users", op: put, url: path, key: "admin", ctype: json_,
			body: `{"url":"https://billing.example.com","configuration_id":"icfg_x","access_token":"t","users":[]}`, status: 400,
			check: func(t *testing.T, e *env, body []byte) {
				if !strings.Contains(string(body), "users:") {
					t.Errorf("the error does not name the field: %s", body)
				}
			}},
		{name: "export put bad url", op: put, url: path, key: "admin", ctype: json_,
			body: `{"url":"ftp://billing.example.com","configuration_id":"icfg_x","access_token":"t","users":[1]}`, status: 400},
		{name: "export put bad id", op: put, url: "/api/v1/exports/bad%20id", key: "admin", ctype: json_, body: target, status: 400},
		{name: "export put unknown field", op: put, url: path, key: "admin", ctype: json_, body: `{"token":"x"}`, status: 400},
		{name: "export put too large", op: put, url: path, key: "admin", ctype: json_, body: `{"url":"` + strings.Repeat("x", testMaxBody) + `"}`, status: 413},
		{name: "export put", op: put, url: path, key: "admin", ctype: json_, body: target, checkRequest: true, status: 200,
			check: func(t *testing.T, e *env, body []byte) {
				noToken(t, e, body)
				var got struct {
					ID              string  `json:"id"`
					Users           []int64 `json:"users"`
					ScheduleSeconds int64   `json:"schedule_seconds"`
					Pending         int64   `json:"pending"`
				}
				if err := json.Unmarshal(body, &got); err != nil || got.ID != "billing-eu" || len(got.Users) != 2 || got.ScheduleSeconds != 600 || got.Pending != 0 {
					t.Errorf("put answered %s (%v)", body, err)
				}
			}},
		{name: "exports", op: list, key: "admin", status: 200,
			check: func(t *testing.T, e *env, body []byte) {
				noToken(t, e, body)
				if !strings.Contains(string(body), `"id": "billing-eu"`) {
					t.Errorf("the target is not listed: %s", body)
				}
			}},
		{name: "export delete no key", op: del, url: path, status: 401},
		{name: "export delete not admin", op: del, url: path, key: "reader", status: 403},
		{name: "export delete", op: del, url: path, key: "admin", status: 204},
		{name: "export delete again", op: del, url: path, key: "admin", status: 404},
	}
}
