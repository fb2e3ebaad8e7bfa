package dashboard

// SetLinesPerPage sets the lines of a page for a test and returns the undo.
func SetLinesPerPage(n int) func() {
	old := linesPerPage
	linesPerPage = n
	return func() { linesPerPage = old }
}

// SetMaxParallel sets how many service calls a page runs at once, for a benchmark, and
// returns the undo.
func SetMaxParallel(n int) func() {
	old := maxParallel
	maxParallel = n
	return func() { maxParallel = old }
}
