package manifest

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"os"
	"sync"
)

// fileText says where an object's text is in a regular file, so that a consumer holding many
// objects can drop their text (ReleaseText) and the text is read again only for the few that need
// it (the line of a field of a finding, a Service decoded a second time).
type fileText struct {
	path     string
	off      int64
	n        int
	crc      uint32 // of the bytes as read: a file changed since is not used
	jsonTabs bool   // the document is JSON whose tabs were replaced by spaces
	tabWidth int    // the document's indentation tabs were expanded to this width
	dash     int    // a List item's own text: the offset of the "-" replaced by a space, else -1
}

// ReleaseText drops the object's text when it can be read again from its file; text is read
// again when needed (FieldLine, ReadJSON). Objects read from standard input, a kustomization or
// memory keep their text.
func (o *Object) ReleaseText() {
	if o.src != nil && o.src.path != "" {
		o.text = nil
	}
}

// textBytes returns the object's text, reading it again from its file after ReleaseText.
func (o *Object) textBytes() ([]byte, error) {
	if o.text != nil || o.src == nil {
		return o.text, nil
	}
	t := o.src
	b := make([]byte, t.n)
	if err := openFiles.readAt(t.path, b, t.off); err != nil {
		return nil, fmt.Errorf("%s: reading the object at line %d again: %w", t.path, o.Line, err)
	}
	if crc32.ChecksumIEEE(b) != t.crc {
		return nil, fmt.Errorf("%s changed while it was being linted: the object at line %d cannot be read again", t.path, o.Line)
	}
	return t.transform(b), nil
}

// transform turns the bytes of the file into the object's text, as reading it did; b may be
// changed.
func (t *fileText) transform(b []byte) []byte {
	switch {
	case t.dash >= 0:
		b[t.dash] = ' '
	case t.jsonTabs:
		b = bytes.ReplaceAll(b, []byte("\t"), []byte(" "))
	case t.tabWidth > 0:
		b = expandLeadingTabs(b, t.tabWidth)
	}
	return b
}

// fileCache keeps a few files open for reading objects again.
type fileCache struct {
	mu    sync.Mutex
	files map[string]*os.File
	order []string // least recently opened first
}

// maxOpenFiles bounds the files kept open.
const maxOpenFiles = 8

var openFiles = &fileCache{files: map[string]*os.File{}}

func (c *fileCache) readAt(path string, b []byte, off int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.files[path]
	if !ok {
		var err error
		if f, err = openRegular(path); err != nil {
			return err
		}
		if len(c.order) >= maxOpenFiles {
			old := c.order[0]
			c.order = c.order[1:]
			_ = c.files[old].Close()
			delete(c.files, old)
		}
		c.files[path] = f
		c.order = append(c.order, path)
	}
	n, err := f.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	return err
}

// CloseFiles closes the files kept open to read objects again; they are opened again if needed.
func CloseFiles() {
	c := openFiles
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.files {
		_ = f.Close()
	}
	c.files, c.order = map[string]*os.File{}, nil
}

// ReadTexts reads the released text of objects again (see ReleaseText), reading the objects
// that lie close together in a file with one read; ReleaseText drops it again. It returns the
// first object that cannot be read again.
func ReadTexts(objs []*Object) error {
	const gap = 64 << 10 // bytes between two objects still read in one go
	for i := 0; i < len(objs); {
		first := objs[i]
		if first.text != nil || first.src == nil || first.src.path == "" {
			i++
			continue
		}
		// the run of objects of the same file, in order, with small gaps
		j, end := i+1, first.src.off+int64(first.src.n)
		for j < len(objs) {
			o := objs[j]
			if o.text != nil || o.src == nil || o.src.path != first.src.path || o.src.off < end || o.src.off-end > gap {
				break
			}
			end = o.src.off + int64(o.src.n)
			j++
		}
		buf := make([]byte, end-first.src.off)
		if err := openFiles.readAt(first.src.path, buf, first.src.off); err != nil {
			return fmt.Errorf("%s: reading the object at line %d again: %w", first.src.path, first.Line, err)
		}
		for _, o := range objs[i:j] {
			b := buf[o.src.off-first.src.off:][:o.src.n:o.src.n]
			if crc32.ChecksumIEEE(b) != o.src.crc {
				return fmt.Errorf("%s changed while it was being linted: the object at line %d cannot be read again", o.src.path, o.Line)
			}
			o.text = o.src.transform(b)
		}
		i = j
	}
	return nil
}

// SharesText reports whether the object is read again from the text of a whole List document
// (one written in flow style or JSON, whose items have no lines of their own): reading it again
// costs a parse of the whole List.
func (o *Object) SharesText() bool { return o.item >= 0 }
