//go:build !unix

package bench

// MaxRSS returns 0: the peak resident set size is measured on Unix systems only.
func MaxRSS() uint64 { return 0 }

// currentRSS returns 0, 0: the resident set size is read on Linux only.
func currentRSS() (rss, anon uint64) { return 0, 0 }
