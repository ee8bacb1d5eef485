package manifest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"
)

// StdinName is the file name given to objects read from standard input.
const StdinName = "<stdin>"

// InputError is an input that cannot be read at all (missing file, URL, unreadable directory). The
// CLI turns it into a usage error (exit code 2).
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

func inputErrorf(format string, args ...any) error {
	return &InputError{fmt.Errorf(format, args...)}
}

// Options controls Load and Open.
type Options struct {
	// Recursive descends into subdirectories of directory arguments (kubectl's -R).
	Recursive bool
	// Stdin is read for the path "-".
	Stdin io.Reader
	// StdinName is the file name of what is read from stdin in positions ("<stdin>" when empty).
	StdinName string
	// StdinTimeout gives up on stdin when it sends nothing for this long (0: wait forever).
	StdinTimeout time.Duration
}

// Load reads files, directories and "-" (stdin) in the order given, whole, into one Result.
// Directories contribute their .yaml, .yml and .json files in lexical order. A path that does not
// exist, a URL, a second "-" or a path that is not a regular file or a directory is an
// InputError. Commands that may read large inputs use Open, which streams.
func Load(paths []string, opts Options) (*Result, error) {
	return LoadInputs(paths, opts, "")
}

// LoadInputs reads what a command's -f/-R/-k flags name: the files, directories and stdin first,
// then the rendered kustomization.
func LoadInputs(paths []string, opts Options, kustomization string) (*Result, error) {
	st, err := Open(context.Background(), paths, kustomization, opts)
	if err != nil {
		return nil, err
	}
	defer func() { _ = st.Close() }()
	var docs []Document
	for {
		d, err := st.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, d)
	}
	res := parseDocs(docs)
	for _, in := range st.Inputs() {
		res.Files = append(res.Files, in.Files...)
		if in.Kind == InputStdin {
			res.Files = append(res.Files, st.StdinName())
		}
	}
	return res, nil
}

// StdinName is the file name of what is read from standard input.
func (s *Stream) StdinName() string {
	if s.opts.StdinName != "" {
		return s.opts.StdinName
	}
	return StdinName
}

// Parse reads every document of one YAML stream or stream of JSON values, as kubectl does: null
// and empty documents are skipped. It never panics and never stops at a bad document.
func Parse(file string, data []byte) *Result {
	sp := newDocSplitter(context.Background(), bytes.NewReader(data), file)
	sp.max = len(data) + 1
	var docs []Document
	for {
		c, err := sp.next()
		if err != nil {
			break // io.EOF: reading memory cannot fail otherwise
		}
		for _, jc := range splitJSONValues(c) {
			docs = append(docs, Document{File: file, Index: len(docs) + 1, c: jc})
		}
	}
	res := parseDocs(docs)
	res.Files = []string{file}
	return res
}

// parseDocs parses documents, spreading them over the CPUs, and returns objects and problems in
// input order.
func parseDocs(docs []Document) *Result {
	type out struct {
		objs  []*Object
		probs []Problem
	}
	outs := make([]out, len(docs))
	workers := min(runtime.GOMAXPROCS(0), len(docs))
	var wg sync.WaitGroup
	next := make(chan int, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				outs[i].objs, outs[i].probs = ParseDocument(docs[i])
			}
		}()
	}
	for i := range docs {
		next <- i
	}
	close(next)
	wg.Wait()
	res := &Result{}
	for _, o := range outs {
		res.Objects = append(res.Objects, o.objs...)
		res.Problems = append(res.Problems, o.probs...)
	}
	return res
}
