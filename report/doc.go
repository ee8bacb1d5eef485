// Package report defines findings (what a rule found, where, how bad, how to fix it), the
// versioned envelope that carries them, and the renderers that print them: table, wide, json,
// yaml, sarif and junit.
package report
