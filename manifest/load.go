package manifest

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// MaxFileSize bounds what is read from one file or from stdin.
const MaxFileSize = 64 << 20

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

// Options controls Load.
type Options struct {
	// Recursive descends into subdirectories of directory arguments (kubectl's -R).
	Recursive bool
	// Stdin is read for the path "-".
	Stdin io.Reader
}

type source struct {
	name string
	data []byte
}

// Load reads files, directories and "-" (stdin) in the order given. Directories contribute their
// .yaml, .yml and .json files in lexical order. A path that does not exist, a URL or a second "-"
// is an InputError.
func Load(paths []string, opts Options) (*Result, error) {
	var srcs []source
	stdinUsed := false
	for _, p := range paths {
		switch {
		case p == "-":
			if stdinUsed {
				return nil, inputErrorf("standard input (-) given twice")
			}
			stdinUsed = true
			if opts.Stdin == nil {
				return nil, inputErrorf("no standard input to read for -")
			}
			data, err := readLimited(opts.Stdin, StdinName)
			if err != nil {
				return nil, err
			}
			srcs = append(srcs, source{StdinName, data})
		case strings.Contains(p, "://"):
			return nil, inputErrorf("%s: URLs are not read (svc-doctor lint never uses the network); download the file and pass its path", p)
		default:
			files, err := expand(p, opts.Recursive)
			if err != nil {
				return nil, err
			}
			for _, f := range files {
				data, err := readFile(f)
				if err != nil {
					return nil, err
				}
				srcs = append(srcs, source{f, data})
			}
		}
	}
	return parseAll(srcs), nil
}

func expand(p string, recursive bool) ([]string, error) {
	st, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, inputErrorf("%s: no such file or directory", p)
		}
		return nil, &InputError{err}
	}
	if !st.IsDir() {
		return []string{p}, nil
	}
	var files []string
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return &InputError{err}
		}
		if d.IsDir() {
			if path == p {
				return nil
			}
			if !recursive || strings.HasPrefix(d.Name(), ".") {
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
		return nil, err
	}
	sort.Strings(files)
	return files, nil
}

// IsManifestFile reports whether a directory walk should read this file.
func IsManifestFile(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &InputError{err}
	}
	defer func() { _ = f.Close() }()
	return readLimited(f, path)
}

func readLimited(r io.Reader, name string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, &InputError{fmt.Errorf("%s: %w", name, err)}
	}
	if len(data) > MaxFileSize {
		return nil, inputErrorf("%s: larger than %d MiB", name, MaxFileSize>>20)
	}
	return data, nil
}

// parseAll parses every document of every source, spreading documents over the CPUs, and returns
// objects and problems in input order.
func parseAll(srcs []source) *Result {
	type job struct {
		src, doc int
		c        chunk
	}
	var jobs []job
	res := &Result{}
	for si, s := range srcs {
		res.Files = append(res.Files, s.name)
		for di, c := range splitStream(s.data) {
			jobs = append(jobs, job{si, di + 1, c})
		}
	}
	type out struct {
		objs  []*Object
		probs []Problem
	}
	outs := make([]out, len(jobs))
	workers := runtime.GOMAXPROCS(0)
	if workers > len(jobs) {
		workers = len(jobs)
	}
	var wg sync.WaitGroup
	next := make(chan int, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				j := jobs[i]
				outs[i].objs, outs[i].probs = parseDocument(srcs[j.src].name, j.doc, j.c)
			}
		}()
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, o := range outs {
		res.Objects = append(res.Objects, o.objs...)
		res.Problems = append(res.Problems, o.probs...)
	}
	return res
}
