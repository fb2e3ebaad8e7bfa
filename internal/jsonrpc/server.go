package jsonrpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"

	"github.com/cloudmeter/cloudmeter/internal/reqinfo"
)

// Method handles one call. A returned error that is (errors.As) an *Error is
// sent as is; any other error is passed to the server's ErrorMapper; if that
// is nil, or returns nil, the client gets -32603 "internal error" and the
// error is recorded as the request's failure (see [Server]). The result is
// marshalled with encoding/json, unless it implements [JSONAppender].
type Method func(ctx context.Context, p Params) (any, error)

// DefaultMaxBatchCalls is the limit on the calls of one batch used when
// Server.MaxBatchCalls is zero or negative.
const DefaultMaxBatchCalls = 100

// Server is an http.Handler serving JSON-RPC 2.0 over HTTP POST. Configure
// its fields and register its methods before serving; the zero value is ready
// to use with the defaults.
//
// A request's failures on the server's side (internal errors, recovered panics,
// errors the ErrorMapper calls the server's fault, calls not run because the
// request's context ended) are reported once per HTTP request, never once per
// call: the first of them, with the number of calls that failed, is recorded
// with reqinfo.SetError for the access log, or, when the request's context
// carries no reqinfo, logged as one line to Logger.
type Server struct {
	// MaxBodyBytes limits the request body size; zero or negative means
	// DefaultMaxBodyBytes. A larger body is answered with -32600.
	MaxBodyBytes int64

	// MaxBatchCalls limits the number of calls (elements) of one batch; zero
	// or negative means DefaultMaxBatchCalls. A larger batch is refused as a
	// whole, before any call runs, with one -32600 error of id null.
	MaxBatchCalls int

	// MaxBatchCallsFlag names the setting that configures MaxBatchCalls (for
	// example "--max-rpc-batch"), for the error that refuses a batch.
	MaxBatchCallsFlag string

	// ErrorMapper turns an error returned by a method (or by Before) that is
	// not an *Error into a JSON-RPC error, and reports whether the error is
	// the server's fault (a database that cannot be reached, say) rather than
	// the client's: a fault counts as a failed call of the request. When
	// ErrorMapper is nil or returns a nil *Error, the error is answered with
	// -32603 "internal error" and counts as a failed call.
	ErrorMapper func(error) (e *Error, fault bool)

	// Logger receives the one line of a failed request whose context carries
	// no reqinfo; nil means slog.Default().
	Logger *slog.Logger

	// Before runs once per HTTP request, after the body is decoded and before
	// any method (e.g. authentication). If it returns an error, every call in
	// the request that expects an answer is answered with that error (mapped
	// as for methods) and no method runs. Otherwise a non-nil returned
	// context is passed to the methods instead of r.Context(). Before must
	// not read r.Body: the body already read is RequestBody(r.Context()) (to
	// check a signature of it, say).
	Before func(r *http.Request) (context.Context, error)

	mu      sync.RWMutex
	methods map[string]Method
}

// NewServer returns a Server with the default settings and no methods.
func NewServer() *Server {
	return &Server{MaxBodyBytes: DefaultMaxBodyBytes, methods: map[string]Method{}}
}

// Register makes m callable under name. It panics if name is empty, m is nil
// or name is already registered.
func (s *Server) Register(name string, m Method) {
	if name == "" || m == nil {
		panic("jsonrpc: Register with empty name or nil method")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.methods[name]; dup {
		panic("jsonrpc: method " + strconv.Quote(name) + " registered twice")
	}
	if s.methods == nil {
		s.methods = map[string]Method{}
	}
	s.methods[name] = m
}

func (s *Server) lookup(name string) Method {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.methods[name]
}

// quoteMethod quotes a method name sent by a client, cut at 64 bytes.
func quoteMethod(m string) string {
	if len(m) > 64 {
		return strconv.Quote(m[:64]) + "..."
	}
	return strconv.Quote(m)
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

var (
	errInternal = &Error{Code: CodeInternalError, Message: "internal error"}
	errNotPost  = &Error{Code: CodeInvalidRequest, Message: "Invalid Request: HTTP method must be POST"}
	errReadBody = &Error{Code: CodeInvalidRequest, Message: "Invalid Request: cannot read request body"}
)

// ServeHTTP answers a JSON-RPC request or batch. Calls of a batch run in
// order, one after the other; once the request's context is done (its deadline
// passed, its client gone) the calls left are not run but answered with the
// context's error, mapped as a method's. The response is written with a single
// write, with HTTP status 200 and Content-Type application/json, or with an
// empty body when every call was a notification. A non-POST request gets 405
// with an Allow: POST header.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, appendError(nil, nullID, errNotPost))
		return
	}
	body, rerr := s.readBody(w, r)
	if rerr != nil {
		writeJSON(w, http.StatusOK, appendError(nil, nullID, rerr))
		return
	}
	maxCalls := s.MaxBatchCalls
	if maxCalls <= 0 {
		maxCalls = DefaultMaxBatchCalls
	}
	calls, batch, derr := decode(body, maxCalls, s.MaxBatchCallsFlag)
	if derr != nil {
		writeJSON(w, http.StatusOK, appendError(nil, nullID, derr))
		return
	}

	f := &failures{calls: len(calls)}

	ctx := r.Context()
	var beforeErr *Error
	if s.Before != nil {
		var fault error
		ctx, beforeErr, fault = s.runBefore(r.WithContext(context.WithValue(r.Context(), bodyKey{}, body)))
		if fault != nil {
			// No call runs: each one failed.
			f.add("Before", fault, len(calls))
		}
	}

	bp := responseBuffers.Get().(*[]byte)
	buf := (*bp)[:0]
	defer func() {
		// Buffers of ordinary reports are kept for the next response; a huge one is
		// left to the collector rather than held.
		if cap(buf) <= maxPooledBuffer {
			*bp = buf
			responseBuffers.Put(bp)
		}
	}()
	if batch {
		buf = append(buf, '[')
	}
	var (
		notRun      *Error // the answer to calls left when ctx is done
		notRunFault error
	)
	answered := 0
	for i := range calls {
		c := &calls[i]
		answer := !c.Notification || c.Err != nil
		if answer {
			if batch && answered > 0 {
				buf = append(buf, ',')
			}
			answered++
		}
		switch {
		case beforeErr != nil:
			if answer {
				buf = appendError(buf, c.ID, beforeErr)
			}
		case c.Err != nil:
			buf = appendError(buf, c.ID, c.Err)
		case ctx.Err() != nil:
			// The request's deadline passed or its client left: running the calls
			// left would only add work nobody waits for.
			if notRun == nil {
				cause := fmt.Errorf("call not run, the request ended: %w", ctx.Err())
				var fault bool
				notRun, fault = s.mapError(cause)
				if fault {
					notRunFault = cause
				}
			}
			if notRunFault != nil {
				f.add(c.Method, notRunFault, 1)
			}
			if answer {
				buf = appendError(buf, c.ID, notRun)
			}
		default:
			buf = s.appendCall(ctx, buf, c, answer, f)
		}
	}
	// Reported before the answer is written, so that whoever reads the answer finds the
	// request's failure recorded.
	s.report(r.Context(), f)
	if answered == 0 {
		w.WriteHeader(http.StatusOK)
		return
	}
	if batch {
		buf = append(buf, ']')
	}
	writeJSON(w, http.StatusOK, buf)
}

type bodyKey struct{}

// RequestBody returns the raw body of the request whose context ctx is, as read by the
// server, within Before (nil elsewhere). It must not be modified.
func RequestBody(ctx context.Context) []byte {
	b, _ := ctx.Value(bodyKey{}).([]byte)
	return b
}

// responseBuffers holds response buffers between requests: a big report is written into
// a buffer of its size without growing one from nothing each time.
var responseBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxPooledBuffer is the largest response buffer kept for reuse.
const maxPooledBuffer = 32 << 20

// readBody reads the whole body, enforcing the size limit.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *Error) {
	limit := s.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	tooLarge := &Error{
		Code:    CodeInvalidRequest,
		Message: fmt.Sprintf("Invalid Request: request body exceeds the limit of %d bytes", limit),
	}
	if r.ContentLength > limit {
		return nil, tooLarge
	}
	if r.Body == nil {
		return nil, nil
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, tooLarge
		}
		s.logger().DebugContext(r.Context(), "jsonrpc: reading request body", "err", err)
		return nil, errReadBody
	}
	return buf.Bytes(), nil
}

// runBefore runs s.Before, recovering a panic. fault, when not nil, is the
// server's failure that e answers.
func (s *Server) runBefore(r *http.Request) (ctx context.Context, e *Error, fault error) {
	ctx = r.Context()
	defer func() {
		if v := recover(); v != nil {
			ctx, e, fault = r.Context(), errInternal, newPanicError(v)
		}
	}()
	bctx, err := s.Before(r)
	if err != nil {
		e, isFault := s.mapError(err)
		if isFault {
			fault = err
		}
		return ctx, e, fault
	}
	if bctx != nil {
		ctx = bctx
	}
	return ctx, nil, nil
}

// appendCall runs c and, if answer, appends its response to buf. A panic in
// the method or while encoding its result is recovered and answered with
// -32603; the partial output is discarded. Failures are added to f.
func (s *Server) appendCall(ctx context.Context, buf []byte, c *Call, answer bool, f *failures) (out []byte) {
	start := len(buf)
	defer func() {
		if v := recover(); v != nil {
			f.add(c.Method, newPanicError(v), 1)
			out = buf[:start]
			if answer {
				out = appendError(out, c.ID, errInternal)
			}
		}
	}()
	m := s.lookup(c.Method)
	if m == nil {
		if !answer {
			return buf
		}
		return appendError(buf, c.ID, &Error{Code: CodeMethodNotFound, Message: "Method not found: " + quoteMethod(c.Method)})
	}
	result, err := m(ctx, c.Params)
	if err != nil {
		e, fault := s.mapError(err)
		if fault {
			f.add(c.Method, err, 1)
		}
		if !answer {
			return buf
		}
		return appendError(buf, c.ID, e)
	}
	if !answer {
		return buf
	}
	buf = append(buf, `{"result":`...)
	if a, ok := result.(JSONAppender); ok {
		buf = a.AppendJSON(buf)
		if len(buf) == start+len(`{"result":`) {
			f.add(c.Method, errors.New("AppendJSON appended nothing"), 1)
			return appendError(buf[:start], c.ID, errInternal)
		}
	} else {
		b, err := json.Marshal(result)
		if err != nil {
			f.add(c.Method, fmt.Errorf("encoding the result: %w", err), 1)
			return appendError(buf[:start], c.ID, errInternal)
		}
		buf = append(buf, b...)
	}
	buf = append(buf, `,"jsonrpc":"2.0","id":`...)
	buf = append(buf, c.ID...)
	return append(buf, '}')
}

// mapError turns a method or Before error into the error sent to the client,
// and reports whether it is the server's fault.
func (s *Server) mapError(err error) (*Error, bool) {
	if e, ok := errors.AsType[*Error](err); ok && e != nil {
		return e, false
	}
	if s.ErrorMapper != nil {
		if e, fault := s.ErrorMapper(err); e != nil {
			return e, fault
		}
	}
	return errInternal, true
}

// failures collects the server-side failures of one request, so that the request
// is reported once however many of its calls failed. Calls run one after the
// other: it needs no lock.
type failures struct {
	calls  int    // calls in the request
	failed int    // calls that failed
	where  string // the method (or hook) of the first failure
	first  error
}

func (f *failures) add(where string, err error, calls int) {
	if f.first == nil {
		f.where, f.first = where, err
	}
	f.failed += calls
}

// report records the request's failure for the access log (reqinfo), or logs it
// when ctx carries no reqinfo: one line per request at most.
func (s *Server) report(ctx context.Context, f *failures) {
	if f.first == nil {
		return
	}
	err := &RequestError{Failed: f.failed, Calls: f.calls, Where: f.where, Err: f.first}
	if reqinfo.SetError(ctx, err) {
		return
	}
	s.logger().LogAttrs(ctx, slog.LevelError, "jsonrpc: request failed",
		slog.String("method", f.where), slog.Int("failed_calls", f.failed), slog.Int("calls", f.calls),
		slog.Any("err", err))
}

// RequestError is the failure a JSON-RPC request is recorded (or logged) with: the
// first of its calls' failures on the server's side, and how many calls failed.
type RequestError struct {
	Failed int    // calls that failed on the server's side
	Calls  int    // calls in the request
	Where  string // the method of the first failure, or "Before"
	Err    error  // the first failure
}

// Error names the count, the first failure's method and its error with every cause
// in its chain that the error's own text leaves out (a domain error shows its
// message, not its cause).
func (e *RequestError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d JSON-RPC calls failed", e.Failed, e.Calls)
	if e.Failed > 1 {
		b.WriteString(", the first")
	}
	fmt.Fprintf(&b, " (%s): ", e.Where)
	text := e.Err.Error()
	b.WriteString(text)
	for cause := errors.Unwrap(e.Err); cause != nil; cause = errors.Unwrap(cause) {
		if t := cause.Error(); !strings.Contains(text, t) {
			b.WriteString(": " + t)
			text += t
		}
	}
	return b.String()
}

// Unwrap returns the first failure.
func (e *RequestError) Unwrap() error { return e.Err }

// panicError is a recovered panic, with the stack where it happened.
type panicError struct {
	value any
	stack []byte
}

func newPanicError(v any) error { return &panicError{value: v, stack: debug.Stack()} }

func (p *panicError) Error() string { return fmt.Sprintf("panic recovered: %v\n%s", p.value, p.stack) }

// appendError appends an error response.
func appendError(buf []byte, id []byte, e *Error) []byte {
	buf = append(buf, `{"error":`...)
	buf = e.appendJSON(buf)
	buf = append(buf, `,"jsonrpc":"2.0","id":`...)
	buf = append(buf, id...)
	return append(buf, '}')
}

// writeJSON writes body with a single write.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// WriteError answers an HTTP request that is no JSON-RPC call at all (a path with no
// endpoint, a panic outside any method) with one error object of id null.
func WriteError(w http.ResponseWriter, status int, e *Error) {
	writeJSON(w, status, appendError(nil, nullID, e))
}
