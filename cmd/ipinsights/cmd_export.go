package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ipinsights/ipinsights-go/export"
	"github.com/ipinsights/ipinsights-go/internal/plural"
	"github.com/ipinsights/ipinsights-go/ipinsights"
)

func init() {
	register(&command{
		name:    "export",
		summary: "write the entity or IP vectors of a model as NumPy .npy (with a .names.txt list) or CSV",
		usage:   "--model FILE (--entities FILE | --addresses FILE) --out F.npy|F.csv [--allow-unseen]",
		example: `ipinsights export --model model.bin --entities users.txt --out users.npy
# users.npy: float32 (rows, vector_dim), C order; users.npy.names.txt: row i's name on line i+1
#   python: v = numpy.load("users.npy"); names = open("users.npy.names.txt").read().split("\n")[:-1]
ipinsights export --model model.bin --addresses ips.txt --out ips.csv
#   python: t = pandas.read_csv("ips.csv", index_col=0)   (columns ip,v0..v<vector_dim-1>)`,
		run: runExport,
	})
}

func runExport(ctx context.Context, e *env, args []string) error {
	c := commands["export"]
	fs := newFlagSet(c, e)
	modelPath := fs.String("model", "", "the model file")
	entities := fs.String("entities", "", "entity names, one a line (- for stdin): writes their entity vectors")
	addresses := fs.String("addresses", "", "IPv4 or IPv6 addresses, one a line (- for stdin): writes their IP vectors (the encoder's output)")
	out := fs.String("out", "", "output file: .npy (float32, with the row names in OUT.names.txt) or .csv (name column, entity_seen for entities, v0..)")
	allowUnseen := fs.Bool("allow-unseen", false, "export entities absent from training too (their rows are hash buckets that describe other entities or nothing; listed on stderr, entity_seen=false in CSV)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if *modelPath == "" || *out == "" {
		return usagef("--model and --out are required")
	}
	if (*entities == "") == (*addresses == "") {
		return usagef("give exactly one of --entities and --addresses")
	}
	if *allowUnseen && *entities == "" {
		return usagef("--allow-unseen applies to --entities only")
	}
	format, err := export.FormatOf(*out)
	if err != nil {
		return usagef("--out %s: want a file name ending in .npy or .csv", *out)
	}
	outs := []file{{"--out", *out}}
	if format == export.NPY {
		outs = append(outs, file{"--out (names)", export.NamesPath(*out)})
	}
	ins := []file{{"--model", *modelPath}, {"--entities", *entities}, {"--addresses", *addresses}}
	if err := checkFiles(ins, outs...); err != nil {
		return err
	}
	m, err := ipinsights.LoadFile(*modelPath)
	if err != nil {
		return err
	}

	var tab *export.Table
	if *entities != "" {
		names, err := readList(e, *entities, export.ReadNames)
		if err != nil {
			return err
		}
		tab = export.Entities(m, names)
		if unseen := tab.Unseen(); len(unseen) > 0 {
			if !*allowUnseen {
				return fmt.Errorf("%s: %s; pass --allow-unseen to export them anyway (marked entity_seen=false in CSV)", *entities, strings.TrimPrefix(tab.CheckSeen().Error(), "export: "))
			}
			fmt.Fprintf(e.stderr, "note: %s of %d did not occur in training; their rows are hash buckets that describe other entities or nothing:\n",
				plural.Count(len(unseen), "entity", "entities"), tab.Rows())
			const show = 20
			for _, n := range unseen[:min(show, len(unseen))] {
				fmt.Fprintf(e.stderr, "  %q\n", n)
			}
			if len(unseen) > show {
				fmt.Fprintf(e.stderr, "  ... and %d more\n", len(unseen)-show)
			}
		}
	} else {
		addrs, err := readList(e, *addresses, export.ReadAddresses)
		if err != nil {
			return err
		}
		tab = export.Addresses(m, addrs)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	paths, err := tab.WriteFile(*out)
	if errors.Is(err, export.ErrLineBreak) {
		return fmt.Errorf("%w (--out %s)", err, *out)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "wrote %s: %d x %d float32\n", strings.Join(paths, " and "), tab.Rows(), tab.Dim)
	return nil
}

// readList reads a list file ("-" for stdin) with read.
func readList[T any](e *env, path string, read func(io.Reader, string) ([]T, error)) ([]T, error) {
	if path == "-" {
		return read(e.stdin, "<stdin>")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return read(f, path)
}
