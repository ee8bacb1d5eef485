package manifest

import (
	"context"
	"io"
	"time"
)

// watchedReader reads standard input without ever waiting past a cancelled context or a silence
// longer than idle: a pipe whose writer never writes (`sleep 30 | lint -f -`) or a terminal
// nobody types into would otherwise block the read forever. The blocking reads happen in a
// goroutine; when the reader gives up, that goroutine stays blocked in its read until the process
// exits (nothing can interrupt a read from a pipe portably), and nothing it reads is used.
type watchedReader struct {
	ctx     context.Context
	r       io.Reader
	idle    time.Duration
	results chan readResult
	done    chan struct{}
	pending []byte
	err     error
}

type readResult struct {
	b   []byte
	err error
}

func newWatchedReader(ctx context.Context, r io.Reader, idle time.Duration) *watchedReader {
	return &watchedReader{ctx: ctx, r: r, idle: idle}
}

func (w *watchedReader) pump() {
	defer close(w.results)
	for {
		buf := make([]byte, 64<<10)
		n, err := w.r.Read(buf)
		if n > 0 || err != nil {
			select {
			case w.results <- readResult{buf[:n], err}:
			case <-w.done:
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Read returns what the input sent, the context's error once it is cancelled, or an InputError
// when nothing arrived for idle.
func (w *watchedReader) Read(p []byte) (int, error) {
	if len(w.pending) > 0 {
		n := copy(p, w.pending)
		w.pending = w.pending[n:]
		return n, nil
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.results == nil {
		w.results, w.done = make(chan readResult), make(chan struct{})
		go w.pump()
	}
	var timeout <-chan time.Time
	if w.idle > 0 {
		t := time.NewTimer(w.idle)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case r, ok := <-w.results:
		if !ok {
			w.err = io.EOF
			return 0, io.EOF
		}
		if r.err != nil {
			w.err = r.err
		}
		n := copy(p, r.b)
		w.pending = r.b[n:]
		if n == 0 && w.err != nil {
			return 0, w.err
		}
		return n, nil
	case <-w.ctx.Done():
		w.err = w.ctx.Err()
		close(w.done)
		return 0, w.err
	case <-timeout:
		w.err = inputErrorf("standard input (-f -) sent nothing for %s: is the command that should write to it stuck? Pipe manifests in (e.g. helm template ... | kubectl svc-doctor lint -f -), or raise --stdin-timeout (0 waits forever)", w.idle)
		close(w.done)
		return 0, w.err
	}
}
