package main

import (
	"archive/tar"
	"archive/zip"
	"compress/flate"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"time"
)

// archiveFile is one file at the top of an archive.
type archiveFile struct {
	Name string
	Mode os.FileMode
	Data []byte
}

// writeTarGz writes files into a gzipped tar with fixed times and owners, so that equal inputs give
// equal bytes.
func writeTarGz(path string, files []archiveFile, mtime time.Time) error {
	return writeAtomic(path, func(w io.Writer) error {
		gz, err := gzip.NewWriterLevel(w, gzip.BestCompression)
		if err != nil {
			return err
		}
		// no name and a zero time in the gzip header
		tw := tar.NewWriter(gz)
		for _, f := range files {
			hdr := &tar.Header{
				Typeflag: tar.TypeReg, Name: f.Name, Mode: int64(f.Mode.Perm()), Size: int64(len(f.Data)),
				ModTime: mtime.UTC(), Uname: "root", Gname: "root", Format: tar.FormatUSTAR,
			}
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			if _, err := tw.Write(f.Data); err != nil {
				return err
			}
		}
		if err := tw.Close(); err != nil {
			return err
		}
		return gz.Close()
	})
}

// writeZip writes files into a zip (deflated) with fixed times.
func writeZip(path string, files []archiveFile, mtime time.Time) error {
	return writeAtomic(path, func(w io.Writer) error {
		zw := zip.NewWriter(w)
		zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
			return flate.NewWriter(out, flate.BestCompression)
		})
		for _, f := range files {
			hdr := &zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: mtime.UTC()}
			hdr.SetMode(f.Mode.Perm())
			fw, err := zw.CreateHeader(hdr)
			if err != nil {
				return err
			}
			if _, err := fw.Write(f.Data); err != nil {
				return err
			}
		}
		return zw.Close()
	})
}

func writeAtomic(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".release-*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(f.Name()) }()
	if err := write(f); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
