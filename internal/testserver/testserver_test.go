package testserver_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter/internal/testserver"
	"github.com/cloudmeter/cloudmeter/server"
)

func TestStartClose(t *testing.T) {
	var started string
	srv, err := testserver.Start(context.Background(), t.TempDir(), "", server.Config{
		Logger:  slog.New(slog.DiscardHandler),
		Started: func(addr string) { started = addr },
	})
	if err != nil {
		t.Fatal(err)
	}
	if started != srv.Addr || srv.URL != "http://"+srv.Addr {
		t.Errorf("Addr %q, URL %q, Started called with %q", srv.Addr, srv.URL, started)
	}
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %d", resp.StatusCode)
	}
	select {
	case <-srv.Done():
		t.Fatalf("Done before Close: %v", srv.Err())
	default:
	}
	if err := srv.Stop(20 * time.Second); err != nil {
		t.Errorf("Stop: %v", err)
	}
	<-srv.Done()
	if err := srv.Close(); err != nil || srv.Err() != nil {
		t.Errorf("Close again: %v, Err %v", err, srv.Err())
	}
	if _, err := http.Get(srv.URL + "/healthz"); err == nil {
		t.Error("the server still answers after Close")
	}
}

func TestStartFails(t *testing.T) {
	_, err := testserver.Start(context.Background(), t.TempDir(), "mysql://nowhere/db", server.Config{Logger: slog.New(slog.DiscardHandler)})
	if err == nil || errors.Is(err, testserver.ErrStillRunning) {
		t.Fatalf("Start on a database URL that is not PostgreSQL's: %v, want server.Run's error", err)
	}
}
