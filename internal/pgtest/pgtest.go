// Package pgtest gives tests a real PostgreSQL database. It uses the server named by
// CLOUDMETER_TEST_DATABASE_URL when set; otherwise it starts a throwaway server from
// the system's PostgreSQL binaries (initdb and pg_ctl in a temporary directory, as the
// postgres user when the tests run as root, fsync off), migrates a template database
// once, and gives each test a fresh database copied from it. When neither is possible
// the tests skip with a message that says how to enable them.
//
// A package that uses it calls pgtest.Main from its TestMain, so that the server it
// started is stopped when the package's tests end.
//
// Tests that stop the database under a running cloudmeter start a server of their own
// with NewServer.
package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx database/sql driver

	"github.com/cloudmeter/cloudmeter/postgres"
)

// EnvURL names the variable that points the tests at an existing server (a URL of a
// database whose user may create databases).
const EnvURL = "CLOUDMETER_TEST_DATABASE_URL"

var (
	once     sync.Once
	adminURL string // a URL of the server's maintenance database
	skipWhy  string
	setupErr error
	dataDir  string // set when this process started the server
	pgBin    string
	counter  atomic.Int64
)

const template = "cloudmeter_template"

// Main runs the tests of a package and stops the server pgtest started, if any.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop stops the throwaway server, if this process started one.
func Stop() {
	if dataDir == "" {
		return
	}
	runAsPostgres(filepath.Join(pgBin, "pg_ctl"), "stop", "-D", dataDir, "-m", "immediate", "-w")
	os.RemoveAll(filepath.Dir(dataDir))
	dataDir = ""
}

// URL returns the URL of a fresh, migrated database for the test, or skips the test
// when no PostgreSQL server can be had.
func URL(t testing.TB) string {
	t.Helper()
	once.Do(setup)
	if skipWhy != "" {
		t.Skip(skipWhy)
	}
	if setupErr != nil {
		t.Fatalf("PostgreSQL for tests: %v", setupErr)
	}
	name := fmt.Sprintf("cloudmeter_test_%d_%d", os.Getpid(), counter.Add(1))
	admin, err := sql.Open("pgx", adminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(`CREATE DATABASE ` + name + ` TEMPLATE ` + template); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", adminURL)
		if err != nil {
			return
		}
		defer a.Close()
		a.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`)
	})
	return withDB(adminURL, name)
}

func withDB(raw, name string) string {
	u, _ := url.Parse(raw)
	u.Path = "/" + name
	return u.String()
}

func setup() {
	if env := os.Getenv(EnvURL); env != "" {
		adminURL = env
	} else {
		bin, ok := findBin()
		if !ok {
			skipWhy = "PostgreSQL tests skipped: no PostgreSQL server binaries found (install them with `apt-get install -y postgresql`, " +
				"or set " + EnvURL + "=postgres://user:pass@host:5432/postgres to use a running server)"
			return
		}
		pgBin = bin
		if err := startServer(); err != nil {
			setupErr = err
			return
		}
	}
	setupErr = makeTemplate()
}

func findBin() (string, bool) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, true
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), true
	}
	return "", false
}

func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// runAsPostgres runs a server binary, as the postgres user when we are root (initdb
// refuses to run as root).
func runAsPostgres(name string, args ...string) ([]byte, error) {
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	} else {
		cmd = exec.Command(name, args...)
	}
	cmd.Stdin = nil
	return cmd.CombinedOutput()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func startServer() error {
	root, dir, err := initCluster(pgBin)
	if err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	// The shared server trades durability for speed: its databases are thrown away.
	settings := "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
	if err := startCluster(pgBin, root, dir, port, settings); err != nil {
		return err
	}
	dataDir = dir
	adminURL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return nil
}

// initCluster makes a database cluster with initdb in a new temporary directory root
// (owned by the postgres user when we are root); dir is the cluster's data directory.
func initCluster(bin string) (root, dir string, err error) {
	root, err = os.MkdirTemp("", "cloudmeter-pg-")
	if err != nil {
		return "", "", err
	}
	dir = filepath.Join(root, "data")
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return "", "", fmt.Errorf("running as root needs the postgres user to run initdb: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(root, uid, gid); err != nil {
			return "", "", err
		}
	}
	if out, err := runAsPostgres(filepath.Join(bin, "initdb"), "-D", dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"); err != nil {
		return "", "", fmt.Errorf("initdb: %v: %s", err, out)
	}
	return root, dir, nil
}

// startCluster starts the server of the cluster in dir on 127.0.0.1:port, with its
// socket in root and extra settings ("-c name=value ..."), and waits until it accepts
// connections.
func startCluster(bin, root, dir string, port int, settings string) error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 %s", port, root, settings)
	if out, err := runAsPostgres(filepath.Join(bin, "pg_ctl"), "start", "-D", dir, "-o", opts, "-l", filepath.Join(root, "server.log"), "-w", "-t", "60"); err != nil {
		log, _ := os.ReadFile(filepath.Join(root, "server.log"))
		return fmt.Errorf("pg_ctl start: %v: %s %s", err, out, log)
	}
	return nil
}

func makeTemplate() error {
	admin, err := sql.Open("pgx", adminURL)
	if err != nil {
		return err
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		return fmt.Errorf("%s: %v", postgres.Redact(adminURL), err)
	}
	// A template left by an earlier run on a shared server may be stale: make it anew,
	// under a lock so that packages testing at once do not race.
	if _, err := admin.ExecContext(ctx, `SELECT pg_advisory_lock(72437)`); err != nil {
		return err
	}
	defer admin.ExecContext(context.Background(), `SELECT pg_advisory_unlock(72437)`)
	var exists bool
	admin.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, template).Scan(&exists)
	if exists && os.Getenv(EnvURL) != "" {
		return nil // another package of this run made it
	}
	if _, err := admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+template+` WITH (FORCE)`); err != nil {
		return err
	}
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+template); err != nil && !strings.Contains(err.Error(), "already exists") {
		return err
	}
	st, err := postgres.Open(ctx, withDB(adminURL, template))
	if err != nil {
		return fmt.Errorf("migrate template: %v", err)
	}
	return st.Close()
}
