package e2e

import (
	"testing"

	"github.com/cloudmeter/cloudmeter/internal/pgtest"
)

// TestMain stops the PostgreSQL server pgtest started, if any, when the tests end.
func TestMain(m *testing.M) { pgtest.Main(m) }
