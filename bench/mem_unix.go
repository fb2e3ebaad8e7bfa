//go:build unix

package bench

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// MaxRSS returns the largest resident set size of this process so far (getrusage), in
// bytes; 0 when unknown.
func MaxRSS() uint64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil || ru.Maxrss <= 0 {
		return 0
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return uint64(ru.Maxrss) // bytes there
	}
	return uint64(ru.Maxrss) * 1024 // KiB on Linux and the BSDs
}

var pageSize = uint64(os.Getpagesize())

// currentRSS returns the resident set size of this process now and the part of it that
// is anonymous memory (resident less shared: not pages of mapped files), from
// /proc/self/statm; 0, 0 where there is none.
func currentRSS() (rss, anon uint64) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, 0
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return 0, 0
	}
	resident, err1 := strconv.ParseUint(f[1], 10, 64)
	shared, err2 := strconv.ParseUint(f[2], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0
	}
	return resident * pageSize, (resident - min(shared, resident)) * pageSize
}
