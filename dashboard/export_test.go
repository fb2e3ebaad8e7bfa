package dashboard

// SetLinesPerPage sets the lines of a page for a test and returns the undo.
func SetLinesPerPage(n int) func() {
	old := linesPerPage
	linesPerPage = n
	return func() { linesPerPage = old }
}
