package dashboard

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Sessions live in the memory of the process that signed the user in. The session
// cookie holds only a random id; the API key a user signed in with stays on the server,
// and every request authenticates it again through the service, so that a revoked key
// ends its sessions at once and a page always follows the key's permissions as they are.
// A restart signs every user out, and several instances behind one address need sticky
// sessions (or the user signs in on each).

// The cookies the dashboard sets.
const (
	sessionCookie = "cloudmeter_session"
	signinCookie  = "cloudmeter_signin" // the CSRF token of the sign-in form (double submit)
	csrfField     = "csrf"
)

type session struct {
	apiKey  string
	csrf    string
	expires time.Time
}

// sessions holds the live sessions, by the SHA-256 of their id.
type sessions struct {
	mu   sync.Mutex
	m    map[[32]byte]*session
	ttl  time.Duration
	max  int
	now  func() time.Time
	rand func([]byte) (int, error)
}

func newSessions(ttl time.Duration, max int) *sessions {
	return &sessions{m: map[[32]byte]*session{}, ttl: ttl, max: max, now: time.Now, rand: rand.Read}
}

// token returns 32 random bytes, base64url-encoded.
func (s *sessions) token() string {
	var b [32]byte
	if _, err := s.rand(b[:]); err != nil {
		panic("dashboard: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// create starts a session for apiKey and returns its id. Expired sessions are dropped
// first; past max live sessions the one closest to expiry goes.
func (s *sessions) create(apiKey string) (id string, sess *session) {
	id = s.token()
	sess = &session{apiKey: apiKey, csrf: s.token(), expires: s.now().Add(s.ttl)}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for k, v := range s.m {
		if now.After(v.expires) {
			delete(s.m, k)
		}
	}
	for len(s.m) >= s.max {
		var oldest [32]byte
		var at time.Time
		for k, v := range s.m {
			if at.IsZero() || v.expires.Before(at) {
				oldest, at = k, v.expires
			}
		}
		delete(s.m, oldest)
	}
	s.m[sha256.Sum256([]byte(id))] = sess
	return id, sess
}

// get returns the live session of id and extends it.
func (s *sessions) get(id string) (*session, bool) {
	if id == "" {
		return nil, false
	}
	h := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.m[h]
	if !ok {
		return nil, false
	}
	if s.now().After(sess.expires) {
		delete(s.m, h)
		return nil, false
	}
	sess.expires = s.now().Add(s.ttl)
	return sess, true
}

func (s *sessions) delete(id string) {
	s.mu.Lock()
	delete(s.m, sha256.Sum256([]byte(id)))
	s.mu.Unlock()
}

// sameToken compares two tokens in constant time; empty never matches.
func sameToken(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// setCookie sets a cookie of the dashboard: HttpOnly, SameSite=Strict, Secure over TLS,
// for the dashboard's paths only; maxAge < 0 deletes it.
func (h *handler) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: Prefix, MaxAge: maxAge, HttpOnly: true,
		Secure: h.secure(r), SameSite: http.SameSiteStrictMode})
}

// secure reports whether cookies must be Secure: the request came over TLS, through a
// proxy that terminated TLS (X-Forwarded-Proto: https), or the dashboard is configured so.
// A client that sends the header over plain HTTP only makes its own cookie Secure, which
// its browser then keeps off plain HTTP: no one else's session is weakened.
func (h *handler) secure(r *http.Request) bool {
	proto, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
	return r.TLS != nil || h.opts.SecureCookies || strings.EqualFold(strings.TrimSpace(proto), "https")
}

func cookieValue(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}
