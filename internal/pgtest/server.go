package pgtest

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// Server is a PostgreSQL server of one test's own, for tests that stop and start the
// database under a running cloudmeter. Most tests want URL, which shares one server.
//
// Unlike the shared server it commits synchronously (fsync stays off: the machine does
// not crash, only the server), so an immediate stop loses no commit that was
// acknowledged, as with a production server.
type Server struct {
	bin, root, dir string
	port           int

	mu      sync.Mutex
	running bool
}

// NewServer starts a server for t, with an empty database "cloudmeter" that cloudmeter
// migrates when it opens it. The server is stopped and its files removed when the test
// ends. The test is skipped when no PostgreSQL binaries are installed (a server named
// by CLOUDMETER_TEST_DATABASE_URL cannot be stopped by a test, so it is not used).
func NewServer(t testing.TB) *Server {
	t.Helper()
	bin, ok := findBin()
	if !ok {
		t.Skip("PostgreSQL server tests skipped: they start and stop a server of their own from the system's binaries, " +
			"and none were found (install them with `apt-get install -y postgresql`)")
	}
	root, dir, err := initCluster(bin)
	if root != "" {
		t.Cleanup(func() { os.RemoveAll(root) })
	}
	if err != nil {
		t.Fatalf("PostgreSQL for tests: %v", err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{bin: bin, root: root, dir: dir, port: port}
	t.Cleanup(s.stop) // registered after RemoveAll, so it runs first
	s.Start(t)
	admin, err := sql.Open("pgx", s.url("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(`CREATE DATABASE cloudmeter`); err != nil {
		t.Fatalf("create database: %v", err)
	}
	return s
}

// URL returns the URL of the server's database "cloudmeter".
func (s *Server) URL() string { return s.url("cloudmeter") }

func (s *Server) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// Start starts the server, on the same port as before when it was stopped, and waits
// until it accepts connections (after crash recovery when it was stopped at once).
func (s *Server) Start(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		t.Fatal("pgtest: Start of a running server")
	}
	if err := startCluster(s.bin, s.root, s.dir, s.port, "-c fsync=off -c max_connections=100"); err != nil {
		t.Fatalf("PostgreSQL for tests: %v", err)
	}
	s.running = true
}

// Stop stops the server at once, as a crash would: pg_ctl stop -m immediate, which
// ends every connection without a checkpoint. Stop returns when the server is gone.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running {
		t.Fatal("pgtest: Stop of a stopped server")
	}
	if out, err := runAsPostgres(filepath.Join(s.bin, "pg_ctl"), "stop", "-D", s.dir, "-m", "immediate", "-w"); err != nil {
		t.Fatalf("pg_ctl stop: %v: %s", err, out)
	}
	s.running = false
}

// Log returns the server's log so far (for a failing test's output).
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.root, "server.log"))
	return string(b)
}

func (s *Server) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		runAsPostgres(filepath.Join(s.bin, "pg_ctl"), "stop", "-D", s.dir, "-m", "immediate", "-w")
		s.running = false
	}
}
