// Command gendata writes a synthetic text-classification dataset of a given
// size, as CSV or Parquet, for bench/data.sh. Nothing it writes is
// committed.
package main

import (
	"bufio"
	"encoding/csv"
	"flag"
	"fmt"
	"log"
	"math/rand"
	"os"
	"strings"

	"github.com/parquet-go/parquet-go"
)

type row struct {
	Text  string `parquet:"text"`
	Label string `parquet:"label"`
}

var words = strings.Fields(`the a movie plot actors scene film story director music ending was and it
great excellent wonderful loved brilliant superb enjoyable terrible awful boring hated poor dull disappointing
camera light sound script long short slow fast funny sad dark bright night day city town house road`)

func main() {
	format := flag.String("format", "csv", "csv or parquet")
	size := flag.Int64("size", 1<<30, "approximate bytes of text to write")
	out := flag.String("out", "", "output file")
	flag.Parse()
	if *out == "" {
		log.Fatal("gendata: -out is required")
	}
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	rng := rand.New(rand.NewSource(1))
	next := func() row {
		n := 8 + rng.Intn(24)
		b := make([]string, n)
		for i := range b {
			b[i] = words[rng.Intn(len(words))]
		}
		label := "negative"
		if rng.Intn(2) == 0 {
			label = "positive"
		}
		return row{Text: strings.Join(b, " "), Label: label}
	}
	var written int64
	switch *format {
	case "csv":
		bw := bufio.NewWriterSize(f, 1<<20)
		w := csv.NewWriter(bw)
		w.Write([]string{"text", "label"})
		for written < *size {
			r := next()
			w.Write([]string{r.Text, r.Label})
			written += int64(len(r.Text) + len(r.Label) + 2)
		}
		w.Flush()
		bw.Flush()
	case "parquet":
		w := parquet.NewGenericWriter[row](f)
		batch := make([]row, 0, 4096)
		for written < *size {
			r := next()
			batch = append(batch, r)
			written += int64(len(r.Text) + len(r.Label))
			if len(batch) == cap(batch) {
				if _, err := w.Write(batch); err != nil {
					log.Fatal(err)
				}
				batch = batch[:0]
			}
		}
		if _, err := w.Write(batch); err != nil {
			log.Fatal(err)
		}
		if err := w.Close(); err != nil {
			log.Fatal(err)
		}
	default:
		log.Fatalf("gendata: -format %q: csv or parquet", *format)
	}
	fmt.Fprintf(os.Stderr, "gendata: %s: %d bytes of text\n", *out, written)
}
