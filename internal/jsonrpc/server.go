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
	"sync"
)

// Method handles one call. A returned error that is (errors.As) an *Error is
// sent as is; any other error is passed to the server's ErrorMapper; if that
// is nil, or returns nil, the error is logged and the client gets -32603
// "internal error". The result is marshalled with encoding/json, unless it
// implements [JSONAppender].
type Method func(ctx context.Context, p Params) (any, error)

// Server is an http.Handler serving JSON-RPC 2.0 over HTTP POST. Configure
// its fields and register its methods before serving; the zero value is ready
// to use with the defaults.
type Server struct {
	// MaxBodyBytes limits the request body size; zero or negative means
	// DefaultMaxBodyBytes. A larger body is answered with -32600.
	MaxBodyBytes int64

	// ErrorMapper turns an error returned by a method (or by Before) that is
	// not an *Error into a JSON-RPC error. When it is nil or returns nil,
	// the error is logged and answered with -32603 "internal error".
	ErrorMapper func(error) *Error

	// Logger receives internal errors and recovered panics; nil means
	// slog.Default().
	Logger *slog.Logger

	// Before runs once per HTTP request, after the body is decoded and before
	// any method (e.g. authentication). If it returns an error, every call in
	// the request that expects an answer is answered with that error (mapped
	// as for methods) and no method runs. Otherwise a non-nil returned
	// context is passed to the methods instead of r.Context(). Before must
	// not read r.Body.
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

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

var (
	errInternal       = &Error{Code: CodeInternalError, Message: "internal error"}
	errMethodNotFound = &Error{Code: CodeMethodNotFound, Message: "Method not found"}
	errNotPost        = &Error{Code: CodeInvalidRequest, Message: "Invalid Request: HTTP method must be POST"}
	errReadBody       = &Error{Code: CodeInvalidRequest, Message: "Invalid Request: cannot read request body"}
)

// ServeHTTP answers a JSON-RPC request or batch. Calls of a batch run in
// order, one after the other. The response is written with a single write,
// with HTTP status 200 and Content-Type application/json, or with an empty
// body when every call was a notification. A non-POST request gets 405 with
// an Allow: POST header.
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
	calls, batch, derr := Decode(body)
	if derr != nil {
		writeJSON(w, http.StatusOK, appendError(nil, nullID, derr))
		return
	}

	ctx := r.Context()
	var beforeErr *Error
	if s.Before != nil {
		ctx, beforeErr = s.runBefore(r)
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
		default:
			buf = s.appendCall(ctx, buf, c, answer)
		}
	}
	if answered == 0 {
		w.WriteHeader(http.StatusOK)
		return
	}
	if batch {
		buf = append(buf, ']')
	}
	writeJSON(w, http.StatusOK, buf)
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

// runBefore runs s.Before, recovering a panic.
func (s *Server) runBefore(r *http.Request) (ctx context.Context, e *Error) {
	ctx = r.Context()
	defer func() {
		if v := recover(); v != nil {
			s.logPanic(r.Context(), "Before", v)
			ctx, e = r.Context(), errInternal
		}
	}()
	bctx, err := s.Before(r)
	if err != nil {
		return ctx, s.mapError(r.Context(), err, slog.String("hook", "Before"))
	}
	if bctx != nil {
		ctx = bctx
	}
	return ctx, nil
}

// appendCall runs c and, if answer, appends its response to buf. A panic in
// the method or while encoding its result is recovered and answered with
// -32603; the partial output is discarded.
func (s *Server) appendCall(ctx context.Context, buf []byte, c *Call, answer bool) (out []byte) {
	start := len(buf)
	defer func() {
		if v := recover(); v != nil {
			s.logPanic(ctx, c.Method, v)
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
		return appendError(buf, c.ID, errMethodNotFound)
	}
	result, err := m(ctx, c.Params)
	if err != nil {
		e := s.mapError(ctx, err, slog.String("method", c.Method))
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
			s.logger().ErrorContext(ctx, "jsonrpc: AppendJSON appended nothing", "method", c.Method)
			return appendError(buf[:start], c.ID, errInternal)
		}
	} else {
		b, err := json.Marshal(result)
		if err != nil {
			s.logger().ErrorContext(ctx, "jsonrpc: encoding result", "method", c.Method, "err", err)
			return appendError(buf[:start], c.ID, errInternal)
		}
		buf = append(buf, b...)
	}
	buf = append(buf, `,"jsonrpc":"2.0","id":`...)
	buf = append(buf, c.ID...)
	return append(buf, '}')
}

// mapError turns a method or Before error into the error sent to the client.
func (s *Server) mapError(ctx context.Context, err error, where slog.Attr) *Error {
	if e, ok := errors.AsType[*Error](err); ok && e != nil {
		return e
	}
	if s.ErrorMapper != nil {
		if e := s.ErrorMapper(err); e != nil {
			return e
		}
	}
	s.logger().ErrorContext(ctx, "jsonrpc: internal error", where, slog.Any("err", err))
	return errInternal
}

func (s *Server) logPanic(ctx context.Context, where string, v any) {
	s.logger().ErrorContext(ctx, "jsonrpc: panic recovered",
		slog.String("method", where),
		slog.Any("panic", v),
		slog.String("stack", string(debug.Stack())))
}

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
