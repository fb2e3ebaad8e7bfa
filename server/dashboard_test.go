package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/cloudmeter/cloudmeter/internal/e2etest"
	"github.com/cloudmeter/cloudmeter/server"
)

// TestServeDashboardAdminPages runs the server as serve does and opens the dashboard's
// installations and export targets pages: an admin's key sees an installation and a
// target made through the native API (never the target's token), a customer's key is
// refused both with 403.
func TestServeDashboardAdminPages(t *testing.T) {
	srv := e2etest.StartServerWith(t, e2etest.SQLite, server.Config{})
	const token = "tok-serve-dashboard-91c4"
	r := srv.Do(t, http.MethodPost, "/api/v1/installations", srv.AdminKey, "application/json", []byte(`{"partner":"GPU Co","user_id":7,"currency":"USD"}`))
	e2etest.MustStatus(t, r, http.StatusCreated, "POST /api/v1/installations")
	var in struct{ ID string }
	if err := json.Unmarshal(r.Body, &in); err != nil || in.ID == "" {
		t.Fatalf("installation: %s", r.Body)
	}
	r = srv.Do(t, http.MethodPut, "/api/v1/exports/finance", srv.AdminKey, "application/json",
		[]byte(`{"url":"https://billing.example.test","configuration_id":"icfg_fin","access_token":"`+token+`","users":[7]}`))
	e2etest.MustStatus(t, r, http.StatusOK, "PUT /api/v1/exports/finance")
	r = srv.Do(t, http.MethodPost, "/api/v1/keys", srv.AdminKey, "application/json", []byte(`{"user_id":7,"label":"customer"}`))
	e2etest.MustStatus(t, r, http.StatusCreated, "POST /api/v1/keys")
	var customer struct{ Key string }
	if err := json.Unmarshal(r.Body, &customer); err != nil || customer.Key == "" {
		t.Fatalf("key: %s", r.Body)
	}

	get := signIn(t, srv.URL, srv.AdminKey)
	for path, want := range map[string]string{"/ui/admin/installations": in.ID, "/ui/admin/exports": "icfg_fin"} {
		status, body := get(path)
		if status != http.StatusOK || !strings.Contains(body, want) || !strings.Contains(body, "<caption>") {
			t.Errorf("admin GET %s: %d, want 200 with %s in a table:\n%s", path, status, want, body)
		}
		if strings.Contains(body, token) {
			t.Errorf("admin GET %s shows the export token", path)
		}
	}
	get = signIn(t, srv.URL, customer.Key)
	for _, path := range []string{"/ui/admin/installations", "/ui/admin/exports"} {
		if status, _ := get(path); status != http.StatusForbidden {
			t.Errorf("customer GET %s: %d, want 403", path, status)
		}
	}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signIn signs in to the dashboard with key through its form and returns a GET of the
// signed-in browser.
func signIn(t *testing.T, base, key string) func(path string) (int, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	_, form := get("/ui/signin")
	m := csrfField.FindStringSubmatch(form)
	if m == nil {
		t.Fatalf("no CSRF token in the sign-in form:\n%s", form)
	}
	resp, err := c.PostForm(base+"/ui/signin", url.Values{"csrf": {m[1]}, "api_key": {key}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/ui/overview" {
		t.Fatalf("signing in: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	return get
}
