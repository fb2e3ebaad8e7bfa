//go:build !unix

package bench

import "time"

// CPUTime returns 0: the process CPU time is measured on Unix systems only.
func CPUTime() time.Duration { return 0 }
