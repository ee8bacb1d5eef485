package lint

import (
	"errors"
	"io/fs"
	"os"
	"syscall"

	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
	"github.com/svc-doctor/svc-doctor/report"
)

// reportFile is a further report (--report-file FORMAT=PATH) written in the same run.
type reportFile struct {
	format, path string
	f            *os.File
	created      bool // the file did not exist before the run
}

// openReports opens the report files before any work starts, so that a path that cannot be
// written is an error at once (exit code 2) instead of at the end of a long run. A file is not
// truncated until its report is written; one this run created is removed if the run fails.
func (o *Options) openReports() error {
	for i := range o.reports {
		rf := &o.reports[i]
		st, err := os.Stat(rf.path)
		switch {
		case err == nil && st.IsDir():
			return cmdutil.UsageError("--report-file %s=%s: %s is a directory: name a file", rf.format, rf.path, rf.path)
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return cmdutil.UsageError("--report-file %s=%s: %v", rf.format, rf.path, err)
		}
		rf.created = err != nil
		// O_NONBLOCK: a named pipe without a reader is an error instead of a wait
		f, err := os.OpenFile(rf.path, os.O_WRONLY|os.O_CREATE|syscall.O_NONBLOCK, 0o644)
		if err != nil {
			return cmdutil.UsageError("--report-file %s=%s: cannot write it: %v (check that the directory exists and is writable)", rf.format, rf.path, unwrapPathError(err))
		}
		rf.f = f
	}
	return nil
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// closeReports closes the report files; unless the run wrote them, the ones it created are removed.
func (o *Options) closeReports(written bool) {
	o.reportsMu.Lock()
	defer o.reportsMu.Unlock()
	for i := range o.reports {
		rf := &o.reports[i]
		if rf.f == nil {
			continue
		}
		_ = rf.f.Close()
		rf.f = nil
		if !written && rf.created {
			_ = os.Remove(rf.path)
		}
	}
}

// writeReports writes the report files.
func (o *Options) writeReports(rep *report.LintReport, ropts report.RenderOptions) error {
	o.reportsMu.Lock()
	defer o.reportsMu.Unlock()
	for i := range o.reports {
		if o.reports[i].f == nil {
			return nil // closed: the run was interrupted
		}
		if err := o.reports[i].write(rep, ropts); err != nil {
			return err
		}
	}
	return nil
}

// write writes the report into the file opened for it.
func (rf *reportFile) write(rep *report.LintReport, ropts report.RenderOptions) error {
	if st, err := rf.f.Stat(); err == nil && st.Mode().IsRegular() {
		if err := rf.f.Truncate(0); err != nil {
			return cmdutil.UsageError("--report-file %s=%s: %v", rf.format, rf.path, unwrapPathError(err))
		}
	}
	ropts.Color = false
	if err := report.RenderLint(rf.f, rf.format, rep, ropts); err != nil {
		return cmdutil.UsageError("--report-file %s=%s: %v", rf.format, rf.path, unwrapPathError(err))
	}
	return nil
}
