package metalsoft

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash"
	"net/http"
	"strconv"
	"strings"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/internal/jsonrpc"
	"github.com/cloudmeter/cloudmeter/service"
)

// VerifyParam is the query parameter that carries a signed request's signature, as
// MetalSoft's SDKs send it: verify=<user_id>:<hex HMAC of the raw body, keyed with the
// whole API key>. The Go SDK signs with HMAC-MD5 (32 hex digits) and percent-encodes the
// colon; the JS SDK signs with HMAC-SHA256 (64 hex digits) and puts an "expires" Unix time
// in the request object, refused once past.
const VerifyParam = "verify"

// authenticate finds the caller of a request: a Bearer key when an Authorization header is
// sent, else a signature in ?verify= (DESIGN 4), else none (73).
func authenticate(svc *service.Service, r *http.Request) (cloudmeter.APIKey, error) {
	verify, signed := r.URL.Query()[VerifyParam]
	if r.Header.Get("Authorization") != "" || !signed {
		return svc.Authenticate(r.Context(), r.Header.Get("Authorization"))
	}
	if len(verify) != 1 || verify[0] == "" {
		return cloudmeter.APIKey{}, cloudmeter.Errorf(cloudmeter.KindUnauthenticated,
			"not authenticated: send one %s=<user_id>:<hex HMAC of the body> or the header Authorization: Bearer <api key>", VerifyParam)
	}
	userID, mac, newHash, err := parseVerify(verify[0])
	if err != nil {
		return cloudmeter.APIKey{}, err
	}
	body := jsonrpc.RequestBody(r.Context())
	key, err := svc.AuthenticateSigned(r.Context(), userID, func(secret []byte) bool {
		h := hmac.New(newHash, secret)
		h.Write(body)
		return hmac.Equal(h.Sum(nil), mac)
	})
	if err != nil {
		return key, err
	}
	return key, checkExpires(body, svc.Now())
}

// parseVerify reads <user_id>:<hex>, and tells the HMAC by the signature's length.
func parseVerify(v string) (int64, []byte, func() hash.Hash, error) {
	bad := func(rule string) error {
		return cloudmeter.Errorf(cloudmeter.KindUnauthenticated, "API key not found: %s must be <user_id>:<hex HMAC>: %s", VerifyParam, rule).
			About(cloudmeter.SubjectAPIKey)
	}
	user, sig, ok := strings.Cut(v, ":")
	if !ok {
		return 0, nil, nil, bad("there is no colon after the user id")
	}
	userID, err := strconv.ParseInt(user, 10, 64)
	if err != nil || userID <= 0 {
		return 0, nil, nil, bad("the user id is not a whole number above 0")
	}
	mac, err := hex.DecodeString(sig)
	if err != nil {
		return 0, nil, nil, bad("the signature is not hexadecimal")
	}
	switch len(mac) {
	case md5.Size:
		return userID, mac, md5.New, nil
	case sha256.Size:
		return userID, mac, sha256.New, nil
	}
	return 0, nil, nil, bad("the signature must be 32 hex digits (HMAC-MD5) or 64 (HMAC-SHA256)")
}

// checkExpires refuses a signed request whose call (or any call of its batch) carries an
// "expires" Unix time that has passed: the JS SDK's bound on replaying a request.
func checkExpires(body []byte, now int64) error {
	body = bytes.TrimSpace(body)
	var calls []map[string]json.RawMessage
	if len(body) > 0 && body[0] == '[' {
		if json.Unmarshal(body, &calls) != nil {
			return nil // not a batch of objects: the decoder answers it
		}
	} else {
		var one map[string]json.RawMessage
		if json.Unmarshal(body, &one) != nil {
			return nil
		}
		calls = append(calls, one)
	}
	for _, c := range calls {
		raw, ok := c["expires"]
		if !ok {
			continue
		}
		exp, err := strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 64)
		if err != nil {
			return cloudmeter.Errorf(cloudmeter.KindUnauthenticated, "expires: must be a whole number of seconds since 1970 (a Unix time), such as %d", now+86400).
				About(cloudmeter.SubjectTimestamp)
		}
		if exp < now {
			return cloudmeter.Errorf(cloudmeter.KindUnauthenticated, "expires: the signed request expired at %s (it is now %s); sign it again",
				cloudmeter.FormatTime(exp), cloudmeter.FormatTime(now)).About(cloudmeter.SubjectTimestamp)
		}
	}
	return nil
}
