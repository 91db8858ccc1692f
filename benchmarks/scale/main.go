// Command scale measures how training grows with the number of rows: for
// each size of -rows it generates that many training rows of the tutorial's
// synthetic logins (package synth), then, in a child process of its own so
// that the peak resident set is training's alone, reads the CSV
// (ipinsights.LoadDataset, all CPUs) and trains one epoch of the tutorial
// configuration. It prints one line a size: rows, read time and rate, time
// to the first batch, training rate, peak RSS, and the bytes per row beyond
// the fixed cost (tables, runtime), measured against a run on -base rows.
//
// The data of one size comes from several synth.GenerateLogins calls of
// 20,000 users each (the generator holds all its events in memory, about 80
// bytes an event), each with its own seed and its users numbered after the
// previous call's; so a call's users draw from their own synthetic ASN
// table. That changes nothing that this harness measures.
//
//	go run ./benchmarks/scale -rows 10000000,100000000 -dir /tmp/scale
//
// The CSV files (about 25 bytes a row) are written to -dir and removed
// afterwards unless -keep is given; check the free space first. For sizes
// whose epoch takes too long, -batches N trains only the first N batches:
// the trainer allocates nothing after its first batch (all its tables and
// buffers exist by then), so the peak RSS is the epoch's:
//
//	go run ./benchmarks/scale -rows 1000000000 -batches 2000 -dir /data
//
// With -stream-quality it measures instead what training from a stream
// (ipinsights.TrainStream, train --stream) costs in quality:
//
//	go run ./benchmarks/scale -stream-quality 2000 -windows 20000,200000
//
// The peak RSS comes from /proc/self/status, hence Linux only.
//
//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/ipinsights/ipinsights-go/internal/bench/host"

	"github.com/ipinsights/ipinsights-go/csvio"
	"github.com/ipinsights/ipinsights-go/internal/bench/cputime"
	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/ipinsights/ipinsights-go/synth"
)

// result is what a child process measures, sent to the parent as JSON.
type result struct {
	Rows        int     `json:"rows"`
	ReadSec     float64 `json:"read_s"`
	ReadCPUSec  float64 `json:"read_cpu_s"`
	FirstBatch  float64 `json:"first_batch_s"` // from the start of training
	TrainSec    float64 `json:"train_s"`
	SamplesPerS float64 `json:"samples_per_s"`
	CPUSec      float64 `json:"cpu_s"`
	PeakRSS     int64   `json:"peak_rss"` // bytes
	ReadRSS     int64   `json:"read_rss"` // bytes, peak after reading
}

func main() {
	sizes := flag.String("rows", "10000000,100000000", "comma-separated numbers of training rows")
	base := flag.Int("base", 100000, "rows of the small run that measures the fixed cost (tables, runtime)")
	dir := flag.String("dir", os.TempDir(), "directory for the generated CSV files")
	keep := flag.Bool("keep", false, "keep the generated CSV files")
	workers := flag.Int("workers", 0, "training goroutines (0: GOMAXPROCS)")
	entityVectors := flag.Int("entity-vectors", 20000, "num_entity_vectors (the tutorial's 20,000)")
	batches := flag.Int("batches", 0, "train only this many batches of the epoch (0: the whole epoch), for sizes whose epoch takes too long: the trainer allocates nothing after its first batch, so the peak RSS is that of the whole epoch")
	child := flag.String("child", "", "internal: read and train this file, print the result as JSON")
	streamUsers := flag.Int("stream-quality", 0, "instead: train the tutorial data of this many users in memory and with TrainStream at each of -windows, in three file orders, and print the attack-test quality")
	windows := flag.String("windows", "20000,200000", "with -stream-quality: the TrainStream windows, in rows")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("scale: ")
	if *streamUsers > 0 {
		ws, err := parseInts(*windows)
		if err != nil {
			log.Fatalf("-windows: %v", err)
		}
		if err := streamQuality(*dir, *streamUsers, ws, *workers); err != nil {
			log.Fatal(err)
		}
		return
	}
	if *child != "" {
		r, err := measure(*child, *workers, *entityVectors, *batches)
		if err != nil {
			log.Fatal(err)
		}
		json.NewEncoder(os.Stdout).Encode(r)
		return
	}

	ns, err := parseInts(*sizes)
	if err != nil {
		log.Fatalf("-rows: %v", err)
	}
	epoch := "1 epoch"
	if *batches > 0 {
		epoch = fmt.Sprintf("the first %d batches of an epoch", *batches)
	}
	fmt.Printf("# %s, GOMAXPROCS %d, num_entity_vectors %d, vector_dim 128, 1 layer, R=5 S=1, batch 1000, %s\n",
		host.CPUModel(), runtime.GOMAXPROCS(0), *entityVectors, epoch)
	baseRes, err := sizeRun(*dir, *base, *keep, *workers, *entityVectors, *batches)
	if err != nil {
		log.Fatal(err)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "rows\tread s\trows/s read\tread cpu-ns/row\tfirst batch s\tsamples/s\tpeak RSS MiB\tRSS after read MiB\tbytes/row beyond fixed\t")
	row := func(r result) {
		perRow := "-"
		if r.Rows > baseRes.Rows {
			perRow = fmt.Sprintf("%.1f", float64(r.PeakRSS-baseRes.PeakRSS)/float64(r.Rows-baseRes.Rows))
		}
		fmt.Fprintf(tw, "%d\t%.2f\t%.0f\t%.0f\t%.2f\t%.0f\t%.0f\t%.0f\t%s\t\n", r.Rows, r.ReadSec, float64(r.Rows)/r.ReadSec,
			1e9*r.ReadCPUSec/float64(r.Rows), r.ReadSec+r.FirstBatch, r.SamplesPerS, float64(r.PeakRSS)/(1<<20), float64(r.ReadRSS)/(1<<20), perRow)
		tw.Flush()
	}
	row(baseRes)
	var prev *result
	for _, n := range ns {
		r, err := sizeRun(*dir, n, *keep, *workers, *entityVectors, *batches)
		if err != nil {
			log.Fatal(err)
		}
		row(r)
		if prev != nil {
			defer fmt.Printf("slope %d -> %d rows: %.2f bytes of peak RSS per row\n", prev.Rows, r.Rows,
				float64(r.PeakRSS-prev.PeakRSS)/float64(r.Rows-prev.Rows))
		}
		prev = &r
	}
	if *batches > 0 {
		fmt.Println("(first batch s: from the start of reading; samples/s: expanded samples per second over the last 100 batches trained)")
	} else {
		fmt.Println("(first batch s: from the start of reading; samples/s: the epoch's expanded samples per second)")
	}
}

// sizeRun generates n rows unless a file of them exists, and measures a
// child process on them.
func sizeRun(dir string, n int, keep bool, workers, entityVectors, batches int) (result, error) {
	path := filepath.Join(dir, fmt.Sprintf("scale-%d.csv", n))
	if _, err := os.Stat(path); err != nil {
		t := time.Now()
		if err := generate(path, n); err != nil {
			os.Remove(path)
			return result{}, err
		}
		log.Printf("generated %d rows in %s: %s", n, time.Since(t).Round(time.Second), path)
	}
	if !keep {
		defer os.Remove(path)
	}
	args := []string{"-child", path, "-workers", strconv.Itoa(workers), "-entity-vectors", strconv.Itoa(entityVectors), "-batches", strconv.Itoa(batches)}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return result{}, fmt.Errorf("child on %s: %w", path, err)
	}
	var r result
	if err := json.Unmarshal(out, &r); err != nil {
		return result{}, fmt.Errorf("child on %s: %w: %s", path, err, out)
	}
	return r, nil
}

// generate writes n training rows to path, from successive generators of
// usersPerCall users.
func generate(path string, n int) error {
	const usersPerCall = 20000
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	written := 0
	for call := 0; written < n; call++ {
		users := usersPerCall
		if n < 1_000_000 { // small sizes: fewer users, so that rows per user stay the tutorial's
			users = max(100, n/200)
		}
		l, err := synth.GenerateLogins(synth.LoginConfig{Users: users, Seed: uint64(call + 1), TestNormal: 1, TestAttacks: 1})
		if err != nil {
			f.Close()
			return err
		}
		rows := l.Train[:min(len(l.Train), n-written)]
		for i := range rows {
			rows[i].User += int32(call * usersPerCall)
		}
		if err := synth.WriteCSV(w, rows); err != nil {
			f.Close()
			return err
		}
		written += len(rows)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// measure reads path and trains one epoch, or its first batches; it runs in
// the child process.
func measure(path string, workers, entityVectors, batches int) (result, error) {
	var r result
	cpu0 := cputime.Process()
	t0 := time.Now()
	data, skipped, err := ipinsights.LoadDataset(context.Background(), path, csvio.Options{})
	if err != nil {
		return r, err
	}
	if skipped.Total() > 0 {
		return r, fmt.Errorf("%s", skipped)
	}
	r.Rows = data.Len()
	r.ReadSec = time.Since(t0).Seconds()
	r.ReadCPUSec = (cputime.Process() - cpu0).Seconds()
	r.ReadRSS = host.PeakRSS()

	cfg := ipinsights.DefaultConfig()
	cfg.NumEntityVectors = entityVectors
	cfg.VectorDim = 128
	cfg.Epochs = 1
	cfg.LearningRate = 0.01
	cfg.MiniBatchSize = 1000
	cfg.RandomNegativeSamplingRate = 5
	cfg.ShuffledNegativeSamplingRate = 1
	cfg.NumIPEncoderLayers = 1
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if batches > 0 {
		cfg.BatchMetricsPublishInterval = min(batches, 100)
	}
	prog := ipinsights.ProgressFunc(func(m ipinsights.Metrics) {
		if m.EpochEnd || (batches > 0 && m.Batch >= batches) {
			r.FirstBatch = m.FirstBatch.Seconds()
			r.SamplesPerS = m.SamplesPerSecond
			if batches > 0 {
				cancel()
			}
		}
	})
	t1 := time.Now()
	if _, err := ipinsights.Train(ctx, cfg, data, &ipinsights.TrainOptions{Workers: workers, Progress: prog}); err != nil && !(batches > 0 && errors.Is(err, context.Canceled)) {
		return r, err
	}
	r.TrainSec = time.Since(t1).Seconds()
	r.CPUSec = (cputime.Process() - cpu0).Seconds()
	r.PeakRSS = host.PeakRSS()
	return r, nil
}
