package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter/cli"
	"github.com/cloudmeter/cloudmeter/internal/e2etest"
	"github.com/cloudmeter/cloudmeter/internal/storeopen"
	"github.com/cloudmeter/cloudmeter/server"
	"github.com/cloudmeter/cloudmeter/service"
)

// signingServer starts a server with a server secret and makes signing keys with the
// command line, as an operator would.
type signingServer struct {
	*e2etest.Server
	secretFile string
}

func startSigningServer(t *testing.T, eng e2etest.Engine) *signingServer {
	t.Helper()
	secret := filepath.Join(t.TempDir(), "server-secret")
	if err := os.WriteFile(secret, []byte("c2VydmVyIHNlY3JldCBvZiB0aGUgc2lnbmluZyB0ZXN0cw==\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := e2etest.StartServerWith(t, eng, server.Config{SecretFile: secret})
	return &signingServer{Server: srv, secretFile: secret}
}

// createSigningKey runs `cloudmeter keys create --signing` and returns the key.
func (s *signingServer) createSigningKey(t *testing.T, user int64, perms string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Main(context.Background(), []string{"keys", "create", "--signing", "--secret-file", s.secretFile, "--data-dir", s.DataDir,
		"--database-url=" + s.DatabaseURL, "--user", fmt.Sprint(user), "--permissions", perms, "--label", "sdk"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("keys create --signing: exit %d: %s%s", code, out.String(), errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	return lines[len(lines)-1]
}

// goSDKRequest is a call as MetalSoft's Go SDK sends it: the body its JSON-RPC client
// marshals ({"method","params","id":0,"jsonrpc"}, no newline), Content-Type and Accept
// application/json, and verify=<user>:<hex HMAC-MD5 of the body keyed with the whole key>
// added with url.Values, so the colon is percent-encoded.
func goSDKRequest(t *testing.T, base, key string, body []byte) *http.Request {
	t.Helper()
	mac := hmac.New(md5.New, []byte(key))
	mac.Write(body)
	user, _, _ := strings.Cut(key, ":")
	values := url.Values{}
	values.Add("verify", user+":"+hex.EncodeToString(mac.Sum(nil)))
	req, err := http.NewRequest(http.MethodPost, base+e2etest.RPCPath+"?"+values.Encode(), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	return req
}

// jsSDKBody is the body MetalSoft's JS SDK sends: JSON.stringify of {method, params, id,
// jsonrpc} with "expires" (a Unix time a day ahead) added before encoding.
func jsSDKBody(user int64, id int, expires int64) []byte {
	return fmt.Appendf(nil, `{"method":"resource_utilization_detailed","params":[%d,"%s","%s"],"id":%d,"jsonrpc":"2.0","expires":%d}`,
		user, seedStart, seedEnd, id, expires)
}

// jsSDKRequest signs as the JS SDK does: HMAC-SHA256 of the body keyed with the whole key,
// hex, appended to the URL as ?verify=<user>:<hex> with the colon as it is.
func jsSDKRequest(t *testing.T, base, key string, body []byte) *http.Request {
	t.Helper()
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(body)
	user, _, _ := strings.Cut(key, ":")
	req, err := http.NewRequest(http.MethodPost, base+e2etest.RPCPath+"?verify="+user+":"+hex.EncodeToString(mac.Sum(nil)), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return req
}

// TestSignedRequests signs the seed report's request exactly as each SDK does and gets the
// report, the same as a Bearer key gets; a tampered body, another key's signature, a revoked
// key, an expired request and a missing signature each fail with their code.
func TestSignedRequests(t *testing.T) { e2etest.OnEachEngine(t, testSignedRequests) }

func testSignedRequests(t *testing.T, eng e2etest.Engine) {
	srv := startSigningServer(t, eng)
	srv.LoadSeed(t)
	key := srv.createSigningKey(t, 1, "")
	if !strings.HasPrefix(key, "1:") {
		t.Fatalf("key %q does not start with its user id", key)
	}
	goBody := fmt.Appendf(nil, `{"method":"resource_utilization_detailed","params":[1,"%s","%s"],"id":0,"jsonrpc":"2.0"}`, seedStart, seedEnd)
	bearer := rpcResult(t, srv.RPC(t, srv.AdminKey, string(goBody)))

	t.Run("GoSDK", func(t *testing.T) {
		req := goSDKRequest(t, srv.URL, key, goBody)
		if !strings.Contains(req.URL.RawQuery, "verify=1%3A") {
			t.Fatalf("the Go SDK's query %q percent-encodes the colon", req.URL.RawQuery)
		}
		got := rpcResult(t, srv.Send(t, req))
		if !equalJSON(got, bearer) {
			t.Errorf("signed report differs from the Bearer one")
		}
		if records(t, got, 3668, "instance")[0]["cost"] != "7.25925278" {
			t.Errorf("signed report's instance cost: %v", records(t, got, 3668, "instance")[0]["cost"])
		}
	})
	t.Run("JSSDK", func(t *testing.T) {
		body := jsSDKBody(1, 1, time.Now().Unix()+86400)
		got := rpcResult(t, srv.Send(t, jsSDKRequest(t, srv.URL, key, body)))
		if !equalJSON(got, bearer) {
			t.Errorf("signed report differs from the Bearer one")
		}
	})
	t.Run("BearerStillWorks", func(t *testing.T) {
		rpcResult(t, srv.RPC(t, key, string(goBody)))
	})

	wantCode := func(t *testing.T, req *http.Request, code int, msgPart string) {
		t.Helper()
		r := srv.Send(t, req)
		got, msg := rpcError(t, r)
		if got != code || !strings.Contains(msg, msgPart) {
			t.Errorf("answer %d %q, want %d with %q", got, msg, code, msgPart)
		}
		if strings.Contains(string(r.Body), strings.SplitN(key, ":", 2)[1]) {
			t.Errorf("the answer shows the key's secret: %s", r.Body)
		}
	}
	t.Run("TamperedByte", func(t *testing.T) {
		req := goSDKRequest(t, srv.URL, key, goBody)
		tampered := bytes.Replace(goBody, []byte(`[1,`), []byte(`[2,`), 1)
		req.Body, req.ContentLength = nopBody(tampered), int64(len(tampered))
		wantCode(t, req, 322, "matches no live signing key of user 1")
	})
	t.Run("OtherKeysSignature", func(t *testing.T) {
		// A key of user 1 made without --signing: it is kept as a hash only, so it cannot sign.
		hashOnly := e2etest.CreateKeyCLI(t, srv.DataDir, srv.DatabaseURL, 1, "utilization_reports_read")
		wantCode(t, goSDKRequest(t, srv.URL, hashOnly, goBody), 322, "API key not found")
		// A signing key of user 2, its signature sent as user 1's.
		other := srv.createSigningKey(t, 2, "utilization_reports_read")
		req := jsSDKRequest(t, srv.URL, other, jsSDKBody(1, 1, time.Now().Unix()+60))
		req.URL.RawQuery = strings.Replace(req.URL.RawQuery, "verify=2:", "verify=1:", 1)
		wantCode(t, req, 322, "API key not found")
	})
	t.Run("Expired", func(t *testing.T) {
		body := jsSDKBody(1, 1, time.Now().Unix()-5)
		wantCode(t, jsSDKRequest(t, srv.URL, key, body), 149, "expires: the signed request expired at")
	})
	t.Run("MissingSignature", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+e2etest.RPCPath, bytes.NewReader(goBody))
		wantCode(t, req, 73, "not authenticated")
		req, _ = http.NewRequest(http.MethodPost, srv.URL+e2etest.RPCPath+"?verify=", bytes.NewReader(goBody))
		wantCode(t, req, 73, "not authenticated")
	})
	t.Run("Malformed", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+e2etest.RPCPath+"?verify=1:xyz", bytes.NewReader(goBody))
		wantCode(t, req, 322, "not hexadecimal")
	})
	t.Run("RevokedKey", func(t *testing.T) {
		revoked := srv.createSigningKey(t, 1, "")
		rpcResult(t, srv.Send(t, goSDKRequest(t, srv.URL, revoked, goBody)))
		id := keyID(t, srv, revoked)
		var out, errOut bytes.Buffer
		if code := cli.Main(context.Background(), []string{"keys", "revoke", "--data-dir", srv.DataDir, "--database-url=" + srv.DatabaseURL, id}, &out, &errOut); code != 0 {
			t.Fatalf("keys revoke: %s", errOut.String())
		}
		wantCode(t, goSDKRequest(t, srv.URL, revoked, goBody), 322, "API key not found")
		// The other signing key of the user still signs.
		rpcResult(t, srv.Send(t, goSDKRequest(t, srv.URL, key, goBody)))
	})
	t.Run("NoUsableSecretInTheDatabase", func(t *testing.T) {
		secret := strings.SplitN(key, ":", 2)[1]
		rows := apiKeyRows(t, srv.Server)
		if len(rows) < 3 {
			t.Fatalf("read %d rows of api_keys, want every key", len(rows))
		}
		sealed := 0
		for _, row := range rows {
			for col, v := range row {
				if strings.Contains(v, secret) || strings.Contains(v, key) || strings.Contains(v, base64.StdEncoding.EncodeToString([]byte(key))) {
					t.Errorf("api_keys.%s holds the key in plain", col)
				}
				// The hash is no signing secret: signing with it does not verify.
				if col == "hash" && row["user_id"] == "1" {
					wantCode(t, goSDKRequest(t, srv.URL, "1:"+v, goBody), 322, "API key not found")
				}
			}
			if row["sealed_secret"] != "" {
				sealed++
			}
		}
		if sealed == 0 {
			t.Errorf("no row holds a sealed secret: %v", rows)
		}
	})
}

// TestSigningNeedsTheServerSecret checks that a server without --secret-file refuses
// signed requests with a message that says why, and keys create --signing without one
// says what is missing.
func TestSigningNeedsTheServerSecret(t *testing.T) {
	e2etest.OnEachEngine(t, testSigningNeedsTheServerSecret)
}

func testSigningNeedsTheServerSecret(t *testing.T, eng e2etest.Engine) {
	srv := e2etest.StartServer(t, eng)
	srv.LoadSeed(t)
	body := jsSDKBody(1, 1, time.Now().Unix()+60)
	r := srv.Send(t, jsSDKRequest(t, srv.URL, srv.AdminKey, body))
	if code, msg := rpcError(t, r); code != 322 || !strings.Contains(msg, "--secret-file") {
		t.Errorf("signed request to a server without a secret: %d %q", code, msg)
	}
	var out, errOut bytes.Buffer
	code := cli.Main(context.Background(), []string{"keys", "create", "--signing", "--secret-file=", "--data-dir", srv.DataDir, "--database-url=" + srv.DatabaseURL, "--user", "1"}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "--signing needs --secret-file") {
		t.Errorf("keys create --signing without a secret: exit %d: %s", code, errOut.String())
	}
}

func nopBody(b []byte) *readCloser { return &readCloser{bytes.NewReader(b)} }

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

func equalJSON(a, b any) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// keyID finds the id of a key in api_keys, by the hash of the key.
func keyID(t *testing.T, srv *signingServer, key string) string {
	t.Helper()
	for _, row := range apiKeyRows(t, srv.Server) {
		if row["hash"] == service.HashKey(key) {
			return row["id"]
		}
	}
	t.Fatalf("no row of api_keys has the key's hash")
	return ""
}

// apiKeyRows reads every row of api_keys, every column as text, straight from the
// server's database.
func apiKeyRows(t *testing.T, srv *e2etest.Server) []map[string]string {
	t.Helper()
	st, err := storeopen.Open(context.Background(), srv.DataDir, srv.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rows, err := st.DB().Query(`SELECT * FROM api_keys`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []map[string]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := map[string]string{}
		for i, c := range cols {
			row[c] = vals[i].String
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSigningKeyFromNativeAPI: an admin makes a signing key with POST /api/v1/keys
// {"signing": true}; it is listed as such and signs the seed report's request as the Go
// SDK does. A server started without a server secret refuses to make one, saying why.
func TestSigningKeyFromNativeAPI(t *testing.T) { e2etest.OnEachEngine(t, testSigningKeyFromNativeAPI) }

func testSigningKeyFromNativeAPI(t *testing.T, eng e2etest.Engine) {
	srv := startSigningServer(t, eng)
	srv.LoadSeed(t)
	r := srv.Do(t, "POST", "/api/v1/keys", srv.AdminKey, "application/json", []byte(`{"user_id": 1, "label": "sdk", "signing": true}`))
	created := r.Object(t)
	key, _ := created["key"].(string)
	if r.Status != 201 || created["signing"] != true || !strings.HasPrefix(key, "1:") {
		t.Fatalf("POST /api/v1/keys signing: %d %s", r.Status, r.Body)
	}
	var listed struct {
		Keys []struct {
			ID      string `json:"id"`
			Signing bool   `json:"signing"`
		} `json:"keys"`
	}
	list := srv.Do(t, "GET", "/api/v1/keys", srv.AdminKey, "", nil)
	if err := json.Unmarshal(list.Body, &listed); err != nil {
		t.Fatalf("keys list: %v: %s", err, list.Body)
	}
	signing := 0
	for _, k := range listed.Keys {
		if k.Signing {
			signing++
			if k.ID != created["id"] {
				t.Errorf("key %s is listed as signing, want only %v", k.ID, created["id"])
			}
		}
	}
	if signing != 1 || bytes.Contains(list.Body, []byte(key)) {
		t.Errorf("keys list: want exactly the new key marked signing, without its secret: %s", list.Body)
	}
	goBody := fmt.Appendf(nil, `{"method":"resource_utilization_detailed","params":[1,"%s","%s"],"id":0,"jsonrpc":"2.0"}`, seedStart, seedEnd)
	got := rpcResult(t, srv.Send(t, goSDKRequest(t, srv.URL, key, goBody)))
	if !equalJSON(got, rpcResult(t, srv.RPC(t, srv.AdminKey, string(goBody)))) {
		t.Errorf("the report signed with the key made through the API differs from the Bearer one")
	}

	plain := e2etest.StartServer(t, eng)
	r = plain.Do(t, "POST", "/api/v1/keys", plain.AdminKey, "application/json", []byte(`{"user_id": 1, "signing": true}`))
	if r.Status != 400 || !bytes.Contains(r.Body, []byte("signing: ")) || !bytes.Contains(r.Body, []byte("--secret-file")) {
		t.Errorf("a signing key from a server without a secret: %d %s; want 400 naming signing and --secret-file", r.Status, r.Body)
	}
}
