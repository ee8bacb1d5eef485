package report

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"unicode"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// This file is the only one that uses tablewriter: every table svc-doctor prints goes through
// WriteTable, which looks like kubectl's output (no borders, upper-case headers, left-aligned,
// three spaces between columns).

// Colorizer wraps a cell in terminal colour codes; nil means no colour.
type Colorizer func(col int, cell string) string

// WriteTable prints rows under headers. Cells are sanitized: control characters (terminal
// escapes from cluster-sourced strings) are replaced, so nothing can rewrite the user's terminal.
func WriteTable(w io.Writer, headers []string, rows [][]string, color Colorizer) error {
	if t, ok := plainTable(headers, rows); ok {
		return t.write(w, color)
	}
	return writeTablewriter(w, headers, rows, color)
}

// writeTablewriter renders a table with tablewriter (any text: wide and combining characters
// included).
func writeTablewriter(w io.Writer, headers []string, rows [][]string, color Colorizer) error {
	var buf bytes.Buffer
	cell := tw.CellConfig{
		Alignment:  tw.CellAlignment{Global: tw.AlignLeft},
		Formatting: tw.CellFormatting{AutoWrap: tw.WrapNone},
		Padding:    tw.CellPadding{Global: tw.Padding{Left: "", Right: "   ", Overwrite: true}},
	}
	header := cell
	header.Formatting.AutoFormat = tw.On
	t := tablewriter.NewTable(&buf,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders: tw.BorderNone,
			Symbols: tw.NewSymbols(tw.StyleNone),
			Settings: tw.Settings{
				Separators: tw.Separators{BetweenColumns: tw.Off, BetweenRows: tw.Off},
				Lines:      tw.Lines{ShowHeaderLine: tw.Off, ShowTop: tw.Off, ShowBottom: tw.Off},
			},
		})),
		tablewriter.WithConfig(tablewriter.Config{Header: header, Row: cell}),
	)
	hs := make([]any, len(headers))
	for i, h := range headers {
		hs[i] = h
	}
	t.Header(hs...)
	for _, r := range rows {
		clean := make([]string, len(r))
		for i, c := range r {
			clean[i] = Sanitize(c)
			if clean[i] == "" {
				clean[i] = "-"
			}
		}
		if err := t.Append(clean); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	// drop the padding after the last column, and colour whole cells afterwards so that the
	// escape codes do not disturb the column widths
	sc := bufio.NewScanner(&buf)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	first := true
	for sc.Scan() {
		line := strings.TrimRightFunc(sc.Text(), unicode.IsSpace)
		if color != nil && !first {
			line = colorLine(line, color)
		}
		first = false
		if _, err := io.WriteString(w, line+"\n"); err != nil {
			return err
		}
	}
	return sc.Err()
}

// asciiTable is a table whose cells are all printable ASCII: every character is one column wide,
// so it is laid out directly, as tablewriter would (a test compares the two), at a fraction of the
// cost. diagnose -A prints one table per broken Service: tens of thousands of them in a big cluster.
type asciiTable struct {
	rows   [][]string // the header first
	widths []int
}

// plainTable prepares rows under headers for the direct layout; ok is false when a cell holds
// anything but printable ASCII (or a row has another number of cells than the header).
func plainTable(headers []string, rows [][]string) (asciiTable, bool) {
	t := asciiTable{rows: make([][]string, 0, len(rows)+1), widths: make([]int, len(headers))}
	head := make([]string, len(headers))
	for i, h := range headers {
		head[i] = strings.ToUpper(h)
	}
	all := append([][]string{head}, rows...)
	for ri, r := range all {
		if len(r) != len(headers) {
			return t, false
		}
		clean := r
		if ri > 0 {
			clean = make([]string, len(r))
		}
		for i, c := range r {
			if ri > 0 {
				c = Sanitize(c)
				if c == "" {
					c = "-"
				}
				clean[i] = c
			}
			for j := 0; j < len(c); j++ {
				if c[j] < 0x20 || c[j] > 0x7e {
					return t, false
				}
			}
			if ri == 0 && !plainHeader(c) {
				return t, false // tablewriter reformats headers of several words or with punctuation
			}
			t.widths[i] = max(t.widths[i], len(c))
		}
		t.rows = append(t.rows, clean)
	}
	return t, true
}

// plainHeader tells a header of one upper-case word (and digits), which tablewriter prints as is.
func plainHeader(h string) bool {
	for i := 0; i < len(h); i++ {
		if (h[i] < 'A' || h[i] > 'Z') && (h[i] < '0' || h[i] > '9') {
			return false
		}
	}
	return h != ""
}

func (t asciiTable) write(w io.Writer, color Colorizer) error {
	var b strings.Builder
	for ri, r := range t.rows {
		b.Reset()
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", t.widths[i]-len(c)+3))
			}
		}
		line := strings.TrimRightFunc(b.String(), unicode.IsSpace)
		if color != nil && ri > 0 {
			line = colorLine(line, color)
		}
		if _, err := io.WriteString(w, line+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// colorLine colours the first cell of a rendered row (the severity or status column).
func colorLine(line string, color Colorizer) string {
	end := strings.Index(line, "   ")
	if end < 0 {
		return color(0, line)
	}
	return color(0, line[:end]) + line[end:]
}

// Sanitize replaces control characters and collapses newlines so that a value read from a
// cluster or a manifest cannot inject terminal escape sequences or break the table.
func Sanitize(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == 0x7f }) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
		case unicode.IsControl(r) || r == 0x7f:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
