// Package e2e holds cloudmeter's end-to-end tests: each runs a real server on either
// storage engine, with the harness of package e2etest, and checks the APIs over HTTP.
package e2e

import (
	"testing"

	"github.com/cloudmeter/cloudmeter/internal/pgtest"
)

// TestMain stops the PostgreSQL server pgtest started, if any, when the tests end.
func TestMain(m *testing.M) { pgtest.Main(m) }
