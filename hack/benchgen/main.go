// Command benchgen writes the synthetic lint benchmark corpora: about N objects split into files
// of 500 objects in a directory (-n, -o DIR), or one file (-o FILE) of valid Services of about
// -services-mb megabytes, or of -tiny tiny documents.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/svc-doctor/svc-doctor/test/benchgen"
)

func main() {
	n := flag.Int("n", 10000, "number of objects")
	dir := flag.String("o", "", "output directory (a file with -services-mb or -tiny)")
	servicesMB := flag.Int("services-mb", 0, "write this many megabytes of valid Services into the file -o")
	tiny := flag.Int("tiny", 0, "write this many tiny documents into the file -o")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "benchgen: -o DIR is required")
		os.Exit(2)
	}
	if *servicesMB > 0 || *tiny > 0 {
		f, err := os.Create(*dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchgen:", err)
			os.Exit(1)
		}
		w := bufio.NewWriter(f)
		var c int
		if *servicesMB > 0 {
			c, err = benchgen.WriteServices(w, *servicesMB<<20)
		} else {
			c, err = benchgen.WriteTiny(w, *tiny)
		}
		if err == nil {
			err = w.Flush()
		}
		if err == nil {
			err = f.Close()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchgen:", err)
			os.Exit(1)
		}
		fmt.Println(c)
		return
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "benchgen:", err)
		os.Exit(1)
	}
	total := 0
	gen := &benchgen.Generator{}
	for part := 0; total < *n; part++ {
		f, err := os.Create(filepath.Join(*dir, fmt.Sprintf("part-%03d.yaml", part)))
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchgen:", err)
			os.Exit(1)
		}
		w := bufio.NewWriter(f)
		c, err := gen.Write(w, min(500, *n-total))
		if err == nil {
			err = w.Flush()
		}
		if err == nil {
			err = f.Close()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchgen:", err)
			os.Exit(1)
		}
		total += c
	}
	fmt.Println(total)
}
