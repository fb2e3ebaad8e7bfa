// Package testserver starts a real cloudmeter server (server.Run) on a free loopback
// port, waits until it listens, and stops it: the one way the tests and the benchmarks
// run a server in process.
//
// It does not import package testing: `cloudmeter bench` (package bench) links it into
// the binary. The helpers for tests that take a testing.TB (a server with an admin key
// made by the command line, on either storage engine, and HTTP helpers that fail the
// test) are in package e2etest, built on this one.
//
//	srv, err := testserver.Start(ctx, dataDir, "", server.Config{Logger: logger})
//	if err != nil {
//		return err
//	}
//	defer srv.Close()
//	resp, err := http.Get(srv.URL + "/readyz")
package testserver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudmeter/cloudmeter/server"
)

// StartTimeout bounds how long Start waits for the server to listen: a server that has
// not opened its database and listened by then is taken to hang.
const StartTimeout = time.Minute

// ErrStillRunning is wrapped by the error of Stop when the server has not stopped in
// the time given.
var ErrStillRunning = errors.New("the server is still running")

// Server is a running server.
type Server struct {
	// Addr is the address the server listens on, such as 127.0.0.1:41234.
	Addr string
	// URL is the base URL, such as http://127.0.0.1:41234.
	URL string

	cancel context.CancelFunc
	done   chan struct{}
	err    error // what server.Run returned; set before done is closed
}

// Start runs server.Run with cfg on 127.0.0.1 (a free port), over the SQLite database
// in dataDir or, when databaseURL is set, the PostgreSQL database at that URL, and
// returns once the server listens. cfg's Listen, DataDir and DatabaseURL are set by
// Start, and so is Started (a Started of cfg is still called); the rest of cfg is passed
// as it is (a nil Logger is slog.Default's, as in server.Run).
//
// The server runs until ctx ends or Close is called. Start returns an error if
// server.Run returns before the server listens (Run's error), or if it does not listen
// within StartTimeout (the server's context is then cancelled). A ctx that ends first
// makes server.Run return, and Start with it.
func Start(ctx context.Context, dataDir, databaseURL string, cfg server.Config) (*Server, error) {
	ctx, cancel := context.WithCancel(ctx)
	s := &Server{cancel: cancel, done: make(chan struct{})}
	addrc := make(chan string, 1)
	started := cfg.Started
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = dataDir
	cfg.DatabaseURL = databaseURL
	cfg.Started = func(addr string) {
		if started != nil {
			started(addr)
		}
		addrc <- addr
	}
	go func() {
		s.err = server.Run(ctx, cfg)
		close(s.done)
	}()
	timer := time.NewTimer(StartTimeout)
	defer timer.Stop()
	select {
	case s.Addr = <-addrc:
		s.URL = "http://" + s.Addr
		return s, nil
	case <-s.done:
		cancel()
		if s.err == nil {
			return nil, errors.New("the server stopped before it listened")
		}
		return nil, s.err
	case <-timer.C:
		cancel()
		return nil, fmt.Errorf("the server did not listen within %v", StartTimeout)
	}
}

// Close stops the server: it cancels the server's context, waits for server.Run to
// return and returns its error. Closing again returns the same error.
func (s *Server) Close() error { return s.Stop(0) }

// Stop is Close that waits at most within (with no limit when within is not positive).
// A server still running then is left to stop in the background, and Stop returns an
// error wrapping ErrStillRunning.
func (s *Server) Stop(within time.Duration) error {
	s.cancel()
	if within <= 0 {
		<-s.done
		return s.err
	}
	timer := time.NewTimer(within)
	defer timer.Stop()
	select {
	case <-s.done:
		return s.err
	case <-timer.C:
		return fmt.Errorf("%w %v after it was told to stop", ErrStillRunning, within)
	}
}

// Done is closed when server.Run has returned: after Close, or when the server stopped
// on its own.
func (s *Server) Done() <-chan struct{} { return s.done }

// Err is what server.Run returned, once Done is closed; nil before.
func (s *Server) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}
