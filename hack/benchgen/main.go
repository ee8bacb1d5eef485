// Command benchgen writes the synthetic lint benchmark corpus: about N objects split into files
// of 500 objects in a directory.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/svc-doctor/svc-doctor/internal/benchgen"
)

func main() {
	n := flag.Int("n", 10000, "number of objects")
	dir := flag.String("o", "", "output directory")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "benchgen: -o DIR is required")
		os.Exit(2)
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
