// Package dashboard serves cloudmeter's web dashboard under /ui/: HTML pages rendered on
// the server with html/template, SVG charts drawn on the server and a style sheet
// embedded in the binary. No script runs in the browser; every page works with
// JavaScript off and at phone width.
//
// A user signs in with an API key (see session.go). Every figure comes from the same
// service call the APIs make (package service), so a page shows what the JSON-RPC,
// Hyperstack and native APIs answer, to the last digit, and what a key may see follows
// the service's permission checks: a customer's key sees its own user and organization,
// a key with utilization_reports_read sees every user.
package dashboard

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/internal/dispatch"
	"github.com/cloudmeter/cloudmeter/internal/reqinfo"
	"github.com/cloudmeter/cloudmeter/service"
)

// Prefix is where the router mounts the dashboard.
const Prefix = "/ui/"

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/style.css
var styleCSS []byte

// Options configure the dashboard; zero fields take the defaults.
type Options struct {
	Logger *slog.Logger
	// SessionTTL is how long a session lives without a request (12 hours when 0).
	SessionTTL time.Duration
	// MaxSessions bounds the live sessions of the process (100,000 when 0).
	MaxSessions int
	// SecureCookies marks cookies Secure even on plain HTTP requests: for a server behind
	// a proxy that terminates TLS. Requests that arrive over TLS always get Secure ones.
	SecureCookies bool
}

// call is a signed-in request: the key (authenticated again for this request) and its
// session.
type call struct {
	key  cloudmeter.APIKey
	sess *session
	now  int64
}

type pageFunc func(w http.ResponseWriter, r *http.Request, c *call) error

type handler struct {
	svc      *service.Service
	opts     Options
	log      *slog.Logger
	sessions *sessions
	pages    map[string]*template.Template
}

type route struct {
	pattern string
	h       http.HandlerFunc
}

func (h *handler) routes() []route {
	return []route{
		{"GET /ui/{$}", h.home},
		{"GET /ui/static/style.css", h.style},
		{"GET /ui/signin", h.signinForm},
		{"POST /ui/signin", h.signin},
		{"POST /ui/signout", h.page(h.signout)},
		{"GET /ui/overview", h.page(h.overview)},
		{"GET /ui/users", h.page(h.users)},
		{"POST /ui/users", h.page(h.openUser)},
		{"GET /ui/users/{user_id}/lines", h.page(h.lines)},
		{"GET /ui/users/{user_id}/lines.csv", h.page(h.linesCSV)},
		{"GET /ui/users/{user_id}/infrastructures/{id}/lines", h.page(h.lines)},
		{"GET /ui/users/{user_id}/infrastructures/{id}/lines.csv", h.page(h.linesCSV)},
		{"GET /ui/users/{user_id}/traffic", h.page(h.traffic)},
		{"GET /ui/resources/{product_id}", h.page(h.resource)},
		{"GET /ui/anomalies", h.page(h.anomalies)},
		{"GET /ui/admin/prices", h.page(h.prices)},
		{"POST /ui/admin/prices", h.page(h.comparePrices)},
		{"GET /ui/admin/keys", h.page(h.keys)},
		{"GET /ui/admin/installations", h.page(h.installations)},
		{"GET /ui/admin/exports", h.page(h.exports)},
	}
}

// Routes lists the route patterns the dashboard serves ("METHOD /path").
func Routes() []string {
	var out []string
	for _, rt := range (&handler{}).routes() {
		out = append(out, rt.pattern)
	}
	return out
}

// Handler returns the dashboard over svc, for every path under Prefix. Unknown paths and
// wrong methods are answered with an HTML page (404, 405 with Allow), and so is a panic
// (500).
func Handler(svc *service.Service, opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	if opts.MaxSessions <= 0 {
		opts.MaxSessions = 100_000
	}
	h := &handler{svc: svc, opts: opts, log: opts.Logger, sessions: newSessions(opts.SessionTTL, opts.MaxSessions), pages: parsePages()}
	mux := http.NewServeMux()
	for _, rt := range h.routes() {
		mux.Handle(rt.pattern, rt.h)
	}
	return h.dispatch(mux)
}

var funcs = template.FuncMap{
	"add": func(a, b int) int { return a + b },
	"sub": func(a, b int) int { return a - b },
}

// parsePages parses each page template with the layout.
func parsePages() map[string]*template.Template {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		out[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n))
	}
	return out
}

func (h *handler) dispatch(mux *http.ServeMux) http.Handler {
	pages := dispatch.Handler(mux, dispatch.Answers{
		Panic: func(w http.ResponseWriter, r *http.Request, v any, stack []byte) {
			h.fail(w, r, nil, cloudmeter.Internal(fmt.Errorf("panic in the dashboard: %v\n%s", v, stack)))
		},
		MethodNotAllowed: func(w http.ResponseWriter, r *http.Request, allow string) {
			h.errorPage(w, r, nil, http.StatusMethodNotAllowed, "Method not allowed", r.Method+" "+r.URL.Path+": allowed: "+allow)
		},
		NotFound: func(w http.ResponseWriter, r *http.Request) {
			h.errorPage(w, r, nil, http.StatusNotFound, "Not found", r.URL.Path+" is no page of the dashboard")
		},
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w)
		pages.ServeHTTP(w, r)
	})
}

// securityHeaders forbids everything a page does not need: no script, no frame, no
// asset from elsewhere.
func securityHeaders(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("X-Frame-Options", "DENY")
}

// page wraps a page that needs a signed-in user: without a live session a GET is sent
// to the sign-in page (and anything else refused); the session's key is authenticated
// again through the service, and a POST must carry the session's CSRF token.
func (h *handler) page(fn pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sid := cookieValue(r, sessionCookie)
		sess, ok := h.sessions.get(sid)
		if !ok {
			h.signedOut(w, r)
			return
		}
		key, err := h.svc.AuthenticateKey(r.Context(), sess.apiKey)
		if cloudmeter.KindOf(err) == cloudmeter.KindUnauthenticated {
			// The key was revoked: its sessions end.
			h.sessions.delete(sid)
			h.setCookie(w, r, sessionCookie, "", -1)
			h.signedOut(w, r)
			return
		}
		if err != nil {
			h.fail(w, r, nil, err)
			return
		}
		c := &call{key: key, sess: sess, now: h.svc.Now()}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if !sameToken(r.PostFormValue(csrfField), sess.csrf) {
				h.errorPage(w, r, c, http.StatusForbidden, "Form refused",
					"csrf: the form did not carry this session's token: reload the page and send the form again")
				return
			}
		}
		if err := fn(w, r, c); err != nil {
			h.fail(w, r, c, err)
		}
	}
}

func (h *handler) signedOut(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		http.Redirect(w, r, Prefix+"signin", http.StatusSeeOther)
		return
	}
	h.errorPage(w, r, nil, http.StatusUnauthorized, "Sign in first", "this form needs a signed-in session: sign in with an API key")
}

// fail answers a page's error with the error page of its kind.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, c *call, err error) {
	m := mappingOf(err)
	if m.Status >= 500 && !reqinfo.SetError(r.Context(), err) {
		h.log.Error("dashboard request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	h.errorPage(w, r, c, m.Status, m.Heading, messageOf(err))
}

type errorContent struct {
	Heading, Message string
	Status           int
}

func (h *handler) errorPage(w http.ResponseWriter, r *http.Request, c *call, status int, heading, msg string) {
	h.render(w, r, c, status, "error", heading, errorContent{Heading: heading, Message: msg, Status: status})
}

// pageData is what the layout renders.
type pageData struct {
	Title   string
	Nav     []navLink
	Key     *keyInfo
	CSRF    string
	Content any
}

type navLink struct {
	Href, Text string
	Current    bool
}

type keyInfo struct {
	ID, Label   string
	UserID      int64
	Permissions string
}

// render writes a page whole (to a buffer first: an error never leaves half a page).
func (h *handler) render(w http.ResponseWriter, r *http.Request, c *call, status int, name, title string, content any) {
	d := pageData{Title: title, Content: content}
	if c != nil {
		d.Key = &keyInfo{ID: c.key.ID, Label: c.key.Label, UserID: c.key.UserID, Permissions: permissionsText(c.key)}
		d.CSRF = c.sess.csrf
		d.Nav = h.nav(c, r.URL.Path)
	}
	var buf bytes.Buffer
	if err := h.pages[name].Execute(&buf, d); err != nil {
		err = cloudmeter.Internal(fmt.Errorf("rendering %s: %w", name, err))
		if !reqinfo.SetError(r.Context(), err) {
			h.log.Error("dashboard render failed", "path", r.URL.Path, "err", err)
		}
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString("<!doctype html><title>error</title><p>internal error: the server logged what happened</p>")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

func permissionsText(k cloudmeter.APIKey) string {
	if len(k.Permissions) == 0 {
		return "none (a customer's key)"
	}
	s := make([]string, len(k.Permissions))
	for i, p := range k.Permissions {
		s[i] = string(p)
	}
	return strings.Join(s, ", ")
}

// nav lists the pages the key may open. The pages check again through the service.
func (h *handler) nav(c *call, path string) []navLink {
	links := []navLink{{Href: Prefix + "overview", Text: "Overview"},
		{Href: fmt.Sprintf("%susers/%d/lines", Prefix, c.key.UserID), Text: "Lines"},
		{Href: fmt.Sprintf("%susers/%d/traffic", Prefix, c.key.UserID), Text: "Traffic"},
		{Href: Prefix + "anomalies", Text: "Anomalies"}}
	if c.key.Has(cloudmeter.PermUtilizationReportsRead) {
		links = append(links, navLink{Href: Prefix + "users", Text: "Users"})
	}
	if c.key.Has(cloudmeter.PermPricesRead) {
		links = append(links, navLink{Href: Prefix + "admin/prices", Text: "Price books"})
	}
	if c.key.Has(cloudmeter.PermAdmin) {
		links = append(links, navLink{Href: Prefix + "admin/keys", Text: "Keys"},
			navLink{Href: Prefix + "admin/installations", Text: "Installations"},
			navLink{Href: Prefix + "admin/exports", Text: "Export targets"})
	}
	for i := range links {
		links[i].Current = links[i].Href == path
	}
	return links
}

func (h *handler) home(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, Prefix+"overview", http.StatusSeeOther)
}

func (h *handler) style(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(styleCSS)
}

// signinForm shows the sign-in form with a fresh token, also set in a cookie: the POST
// must carry both, equal (a page of another site can set neither).
func (h *handler) signinForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.sessions.get(cookieValue(r, sessionCookie)); ok {
		http.Redirect(w, r, Prefix+"overview", http.StatusSeeOther)
		return
	}
	h.showSignin(w, r, http.StatusOK, "")
}

func (h *handler) showSignin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	token := h.sessions.token()
	h.setCookie(w, r, signinCookie, token, 3600)
	h.render(w, r, nil, status, "signin", "Sign in", signinPage{CSRF: token, Message: msg})
}

type signinPage struct {
	CSRF, Message string
}

func (h *handler) signin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if !sameToken(r.PostFormValue(csrfField), cookieValue(r, signinCookie)) {
		h.errorPage(w, r, nil, http.StatusForbidden, "Form refused",
			"csrf: the sign-in form did not carry its token: open the sign-in page and send the form again")
		return
	}
	raw := strings.TrimSpace(r.PostFormValue("api_key"))
	if _, err := h.svc.AuthenticateKey(r.Context(), raw); err != nil {
		if k := cloudmeter.KindOf(err); k != cloudmeter.KindUnauthenticated {
			h.fail(w, r, nil, err)
			return
		}
		h.showSignin(w, r, http.StatusUnauthorized, "api_key: "+cloudmeter.MessageOf(err))
		return
	}
	id, _ := h.sessions.create(raw)
	h.setCookie(w, r, sessionCookie, id, 0)
	h.setCookie(w, r, signinCookie, "", -1)
	http.Redirect(w, r, Prefix+"overview", http.StatusSeeOther)
}

func (h *handler) signout(w http.ResponseWriter, r *http.Request, c *call) error {
	h.sessions.delete(cookieValue(r, sessionCookie))
	h.setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, Prefix+"signin", http.StatusSeeOther)
	return nil
}
