package manifest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// MaxDocumentSize bounds one YAML document (the text between two document markers). A stream
// has no size limit: it is read one document at a time.
const MaxDocumentSize = 64 << 20

// DefaultStdinTimeout is how long standard input may stay silent before reading gives up.
const DefaultStdinTimeout = 30 * time.Second

// InputKind says what an argument named.
type InputKind int

// Input kinds.
const (
	InputFile InputKind = iota
	InputDir
	InputStdin
	InputKustomize
)

// Input is one argument of -f (a file, a directory or "-") or the -k kustomization, and what
// reading it found.
type Input struct {
	Arg  string
	Kind InputKind
	// Files are the manifest files of a directory, in the order read.
	Files []string
	// SkippedDirs counts the subdirectories of a directory that were not read (no -R).
	SkippedDirs int
	// Documents counts the documents read from the input (null and empty ones included).
	Documents int
}

// Describe names the input in messages: "standard input (-f -)", "directory deploy/", ...
func (in *Input) Describe() string {
	switch in.Kind {
	case InputStdin:
		return "standard input (-f -)"
	case InputDir:
		return "directory " + in.Arg
	case InputKustomize:
		return "kustomization " + in.Arg
	}
	return in.Arg
}

// Document is one YAML document or JSON value of an input, not parsed yet.
type Document struct {
	// Input is the index of the argument it came from (Stream.Inputs).
	Input int
	// File is the name positions use; Index the 1-based index of the document in File.
	File  string
	Index int
	c     chunk
	// path is set for a document of a regular file, which its objects' text can be read from
	// again (Object.ReleaseText)
	path string
	// origins maps the documents of a rendered kustomization to their source files
	origins *originMap
}

// Line is the line in File where the document starts.
func (d Document) Line() int { return d.c.line }

// Size is the length of the document's text.
func (d Document) Size() int { return len(d.c.text) }

// Stream reads the documents of files, directories, standard input and a kustomization one at a
// time, in the order given. Every argument is checked before the first document is read: a path
// that does not exist, a URL, a second "-", a named pipe or a device are InputErrors.
type Stream struct {
	ctx    context.Context
	opts   Options
	inputs []*Input
	// kustomization rendered in Open, read after the other inputs
	kust *kustOutput

	in, file int // current input and file within it
	sp       *docSplitter
	closer   io.Closer
	name     string
	doc      int
	pending  []chunk
}

// Open checks the arguments and returns a stream of their documents. kustomization, when not
// empty, is rendered here (it is checked for remote references first) and read last.
func Open(ctx context.Context, paths []string, kustomization string, opts Options) (*Stream, error) {
	s := &Stream{ctx: ctx, opts: opts}
	stdinSeen := false
	for _, p := range paths {
		in := &Input{Arg: p}
		switch {
		case p == "-":
			if stdinSeen {
				return nil, inputErrorf("standard input (-) given twice")
			}
			stdinSeen = true
			if opts.Stdin == nil {
				return nil, inputErrorf("no standard input to read for -")
			}
			in.Kind = InputStdin
		case strings.Contains(p, "://"):
			return nil, inputErrorf("%s: URLs are not read (svc-doctor lint never uses the network); download the file and pass its path", p)
		default:
			files, skipped, isDir, err := expand(p, opts.Recursive)
			if err != nil {
				return nil, err
			}
			in.Files, in.SkippedDirs = files, skipped
			if isDir {
				in.Kind = InputDir
			}
		}
		s.inputs = append(s.inputs, in)
	}
	if kustomization != "" {
		out, err := renderKustomize(kustomization)
		if err != nil {
			return nil, err
		}
		s.kust = out
		s.inputs = append(s.inputs, &Input{Arg: kustomization, Kind: InputKustomize, Files: []string{out.name}})
	}
	return s, nil
}

// Inputs describes the arguments; Documents is complete once Next has returned io.EOF.
func (s *Stream) Inputs() []*Input { return s.inputs }

// Close releases the file being read, if any.
func (s *Stream) Close() error {
	if s.closer != nil {
		err := s.closer.Close()
		s.closer = nil
		return err
	}
	return nil
}

// Next returns the next document, io.EOF after the last one, the context's error when it is
// cancelled, or an InputError when an input cannot be read.
func (s *Stream) Next() (Document, error) {
	for {
		if err := s.ctx.Err(); err != nil {
			_ = s.Close()
			return Document{}, err
		}
		if len(s.pending) > 0 {
			c := s.pending[0]
			s.pending = s.pending[1:]
			s.doc++
			s.inputs[s.in].Documents++
			d := Document{Input: s.in, File: s.name, Index: s.doc, c: c}
			switch s.inputs[s.in].Kind {
			case InputKustomize:
				d.origins = s.kust.origins
			case InputFile, InputDir:
				d.path = s.name
			}
			return d, nil
		}
		if s.sp != nil {
			c, err := s.sp.next()
			if err == io.EOF {
				s.sp = nil
				_ = s.Close()
				s.file++
				continue
			}
			if err != nil {
				s.sp = nil
				_ = s.Close()
				return Document{}, err
			}
			s.pending = splitJSONValues(c)
			continue
		}
		if s.in >= len(s.inputs) {
			return Document{}, io.EOF
		}
		if err := s.openNext(); err != nil {
			return Document{}, err
		}
	}
}

// openNext starts the next file of the current input, or moves to the next input.
func (s *Stream) openNext() error {
	in := s.inputs[s.in]
	s.doc = 0
	switch in.Kind {
	case InputStdin:
		if s.file > 0 {
			s.in, s.file = s.in+1, 0
			return nil
		}
		s.name = s.opts.StdinName
		if s.name == "" {
			s.name = StdinName
		}
		r := newWatchedReader(s.ctx, s.opts.Stdin, s.opts.StdinTimeout)
		s.sp = newDocSplitter(s.ctx, r, s.name)
		s.file++
		return nil
	case InputKustomize:
		if s.file > 0 {
			s.in, s.file = s.in+1, 0
			return nil
		}
		s.name = s.kust.name
		s.sp = newDocSplitter(s.ctx, bytes.NewReader(s.kust.data), s.name)
		s.file++
		return nil
	}
	if s.file >= len(in.Files) {
		s.in, s.file = s.in+1, 0
		return nil
	}
	path := in.Files[s.file]
	f, err := openRegular(path)
	if err != nil {
		return err
	}
	s.closer, s.name = f, path
	s.sp = newDocSplitter(s.ctx, f, path)
	return nil
}

// openRegular opens a file for reading without ever blocking: a named pipe with no writer would
// block open(2) forever, so the file is opened non-blocking and refused unless it is a regular
// file. A device (/dev/zero) or a socket is refused the same way.
func openRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, inputErrorf("%s: no such file or directory", path)
		}
		return nil, &InputError{err}
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, &InputError{err}
	}
	if !st.Mode().IsRegular() {
		_ = f.Close()
		return nil, notRegular(path, st.Mode())
	}
	return f, nil
}

// notRegular is the error for an argument that is neither a regular file nor a directory.
func notRegular(path string, mode fs.FileMode) error {
	what := "not a regular file"
	switch {
	case mode&fs.ModeNamedPipe != 0:
		what = "a named pipe (FIFO)"
	case mode&fs.ModeSocket != 0:
		what = "a socket"
	case mode&fs.ModeDevice != 0 || mode&fs.ModeCharDevice != 0:
		what = "a device"
	}
	return inputErrorf("%s: is %s, not a regular file: lint reads files and directories; to read a stream, pipe it to standard input with -f - (e.g. -f - < %s)", path, what, path)
}

// expand lists the manifest files an argument names: the file itself, or the .yaml, .yml and
// .json files of a directory in lexical order (recursively with -R; hidden directories are
// skipped). It also counts the subdirectories left out without -R.
func expand(p string, recursive bool) (files []string, skippedDirs int, isDir bool, err error) {
	st, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, 0, false, inputErrorf("%s: no such file or directory", p)
		}
		return nil, 0, false, &InputError{err}
	}
	if !st.IsDir() {
		if !st.Mode().IsRegular() {
			return nil, 0, false, notRegular(p, st.Mode())
		}
		return []string{p}, 0, false, nil
	}
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return &InputError{err}
		}
		if d.IsDir() {
			if path == p {
				return nil
			}
			if strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			if !recursive {
				skippedDirs++
				return filepath.SkipDir
			}
			return nil
		}
		if IsManifestFile(path) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, 0, true, err
	}
	sort.Strings(files)
	return files, skippedDirs, true, nil
}

// IsManifestFile reports whether a directory walk should read this file.
func IsManifestFile(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// docSplitter cuts a stream into YAML documents at document markers ("---" at the start of a
// line) as it reads, holding one document at a time. A marker line stays at the top of the
// document it opens, so that content written after the marker on the same line ("--- {a: 1}") is
// kept and line numbers stay exact. An empty preamble before the first marker is dropped.
type docSplitter struct {
	ctx   context.Context
	r     *bufio.Reader
	name  string
	line  int    // number of the next line to read
	cur   []byte // the document being read
	start int    // line of cur's first line
	pos   int64  // bytes read
	off   int64  // offset of cur's first byte
	first bool   // no document returned or dropped yet
	eof   bool
	max   int
}

func newDocSplitter(ctx context.Context, r io.Reader, name string) *docSplitter {
	return &docSplitter{ctx: ctx, r: bufio.NewReaderSize(r, 64<<10), name: name, line: 1, start: 1, first: true, max: MaxDocumentSize}
}

// next returns the next document; io.EOF when there is none.
func (s *docSplitter) next() (chunk, error) {
	if s.eof {
		return chunk{}, io.EOF
	}
	for n := 0; ; n++ {
		if n&1023 == 1023 {
			if err := s.ctx.Err(); err != nil {
				return chunk{}, err
			}
		}
		line, err := s.readLine()
		if err != nil && err != io.EOF {
			return chunk{}, err
		}
		if len(line) > 0 {
			at := s.pos
			s.pos += int64(len(line))
			if len(s.cur) > 0 && isDocMarker(line) {
				// the document gets its own exact-size copy: objects keep their text, and a larger
				// buffer would be kept with it; the buffer is reused for the next document
				c := chunk{text: bytes.Clone(s.cur), line: s.start, off: s.off}
				first := s.first
				s.first = false
				s.cur, s.start, s.off = append(s.cur[:0], line...), s.line, at
				s.line++
				if first && isBlank(c.text) {
					continue // an empty preamble before the first marker
				}
				return c, nil
			}
			if len(s.cur)+len(line) > s.max {
				return chunk{}, inputErrorf("%s:%d: a YAML document larger than %d MiB; split the input into smaller documents", s.name, s.start, s.max>>20)
			}
			s.cur = append(s.cur, line...)
			s.line++
		}
		if err == io.EOF {
			s.eof = true
			return chunk{text: bytes.Clone(s.cur), line: s.start, off: s.off}, nil
		}
	}
}

// readLine returns the next line with its line break; an empty line and io.EOF at the end.
func (s *docSplitter) readLine() ([]byte, error) {
	line, err := s.r.ReadSlice('\n')
	if err != bufio.ErrBufferFull {
		if err != nil && err != io.EOF {
			return nil, s.readErr(err)
		}
		return line, err
	}
	long := append([]byte(nil), line...)
	for err == bufio.ErrBufferFull {
		if len(s.cur)+len(long) > s.max {
			return nil, inputErrorf("%s:%d: a YAML document larger than %d MiB; split the input into smaller documents", s.name, s.start, s.max>>20)
		}
		line, err = s.r.ReadSlice('\n')
		long = append(long, line...)
	}
	if err != nil && err != io.EOF {
		return nil, s.readErr(err)
	}
	return long, err
}

func (s *docSplitter) readErr(err error) error {
	var ie *InputError
	if errors.As(err, &ie) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &InputError{fmt.Errorf("%s: %w", s.name, err)}
}
