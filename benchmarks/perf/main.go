// Command perf is the performance harness of ipinsights-go. It generates the
// tutorial-scale login data (10,000 users, about 2.1M training rows), then,
// for each of -runs runs, it
//
//   - parses the training CSV and trains five epochs of the tutorial
//     configuration with 2 workers, timing the whole (parsing included) and
//     recording the peak RSS and the allocations of training;
//   - scores the attack test in-process in batches, for throughput and for
//     the AUC, precision and recall of the model;
//   - trains with 1 and with 2 workers, and with num_ip_encoder_layers=0,
//     for the training rate in expanded samples/s over batches 1001-2000.
//
// It prints one table: every run and the median of the runs.
//
// With -cli it also times `ipinsights score` on the training CSV (model load,
// parsing, scoring and writing included).
//
//	go build -o /tmp/ipinsights ./cmd/ipinsights
//	go run ./benchmarks/perf -cli /tmp/ipinsights   # 3 runs
//	go run ./benchmarks/perf -runs 1 -users 2000     # a quick look
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ipinsights/ipinsights-go/internal/bench/host"

	"github.com/ipinsights/ipinsights-go/csvio"
	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/internal/stats"
	"github.com/ipinsights/ipinsights-go/internal/tutorial"
	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/ipinsights/ipinsights-go/synth"
)

func main() {
	users := flag.Int("users", 10000, "users of the generated data (package synth; the tutorial has 10000)")
	runs := flag.Int("runs", 3, "runs; the table shows each and their median")
	epochs := flag.Int("epochs", 5, "epochs of the timed full training")
	seed := flag.Uint64("seed", 1, "seed of the data generator (synth) and of training")
	skipRates := flag.Bool("skip-rates", false, "skip the rate runs (1 worker, 2 workers, 0 layers)")
	full := flag.Bool("full", true, "run the full training, scoring and evaluation (-full=false: rates only)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the first full training to this file")
	cli := flag.String("cli", "", "an ipinsights binary: also time `ipinsights score` end to end on the training CSV")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("perf: ")

	dir, err := os.MkdirTemp("", "ipinsights-perf")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	trainCSV := filepath.Join(dir, "train.csv")
	began := time.Now()
	data, err := synth.GenerateLogins(synth.LoginConfig{Users: *users, Seed: *seed})
	if err != nil {
		log.Fatal(err)
	}
	if err := writeCSV(trainCSV, data); err != nil {
		log.Fatal(err)
	}
	pairs := make([]ipinsights.Pair, len(data.Test))
	tuples := make([]embedding.Tuple, len(data.Test))
	labels := make([]bool, len(data.Test))
	for i, x := range data.Test {
		pairs[i] = ipinsights.Pair{Entity: x.Entity(), IP: x.Addr()}
		tuples[i] = embedding.NewTuple(pairs[i].Entity, pairs[i].IP)
		labels[i] = x.Anomalous()
	}
	log.Printf("generated %d training rows, %d attack-test pairs in %v", len(data.Train), len(pairs), time.Since(began).Round(time.Millisecond))
	data = nil

	var results []result
	for run := 1; run <= *runs; run++ {
		prof := ""
		if run == 1 {
			prof = *cpuprofile
		}
		res, err := oneRun(trainCSV, pairs, tuples, labels, *epochs, *seed, *full, !*skipRates, prof, *cli)
		if err != nil {
			log.Fatal(err)
		}
		log.Printf("run %d done", run)
		results = append(results, res)
	}
	printTable(os.Stdout, results, *epochs)
}

// config returns the tutorial's configuration (DESIGN.md section 1, as
// internal/tutorial has it) with the given depth, epochs and seed.
func config(layers, epochs int, seed uint64) ipinsights.Config {
	cfg, _, err := tutorial.Config(map[string]string{
		"epochs": strconv.Itoa(epochs), "num_ip_encoder_layers": strconv.Itoa(layers),
		"seed": strconv.FormatUint(seed, 10),
	})
	if err != nil {
		panic(err)
	}
	return cfg
}

type result struct {
	fullSeconds   float64 // parse + train, epochs epochs, 2 workers
	parseSeconds  float64
	fullRate      float64 // samples/s of the full training (training time only)
	peakRSS       int64   // bytes, during parse + full training
	trainAllocs   uint64  // heap allocations of the full training
	batches       int64
	auc           float64
	precision     float64
	recall        float64
	scoreRate     float64 // pairs/s
	scoreAllocs   float64 // allocations per scored batch
	rate1, rate2  float64 // 1 and 2 workers
	rate0         float64 // 0 layers, 2 workers
	ratio         float64 // rate2/rate1 of this run
	haveRates     bool
	samplesPerEpo int64
	cliRate       float64 // rows/s of ipinsights score, 0 when not measured
	stolen        float64 // share of the machine's CPU time stolen by the hypervisor; NaN when unknown
}

// scoreCLI saves m and times `cli score` over the CSV file of n rows,
// writing to /dev/null.
func scoreCLI(cli string, m *ipinsights.Model, csvPath string, n int) (float64, error) {
	model := filepath.Join(filepath.Dir(csvPath), "model.bin")
	if err := m.SaveFile(model); err != nil {
		return 0, err
	}
	defer os.Remove(model)
	cmd := exec.Command(cli, "score", "--model", model, "--input", csvPath, "--output", os.DevNull)
	cmd.Stderr = os.Stderr
	t := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("%s score: %w", cli, err)
	}
	return float64(n) / time.Since(t).Seconds(), nil
}

// rateRecorder counts the samples and batches of a training run.
type rateRecorder struct {
	samples int64
	batches int64
}

func (r *rateRecorder) Record(m ipinsights.Metrics) {
	r.samples = m.Samples
	if m.EpochEnd {
		r.batches += int64(m.Batches)
	}
}

func oneRun(trainCSV string, pairs []ipinsights.Pair, tuples []embedding.Tuple, labels []bool, epochs int, seed uint64, full, rates bool, cpuprofile, cli string) (result, error) {
	var res result
	runtime.GC()
	debug.FreeOSMemory()
	resetPeakRSS()
	steal0, total0 := cpuTicks()
	defer func() {
		steal1, total1 := cpuTicks()
		res.stolen = math.NaN()
		if total1 > total0 {
			res.stolen = float64(steal1-steal0) / float64(total1-total0)
		}
	}()

	t0 := time.Now()
	ds, _, err := ipinsights.LoadDataset(context.Background(), trainCSV, csvio.Options{Name: trainCSV})
	if err != nil {
		return res, err
	}
	res.parseSeconds = time.Since(t0).Seconds()
	if full {
		if err := fullRun(&res, ds, t0, pairs, tuples, labels, epochs, seed, cpuprofile, cli, trainCSV); err != nil {
			return res, err
		}
	}

	if rates {
		// Each rate is that of batches 1001..2000 (about a million
		// expanded samples) after 1000 batches of warm-up, as Progress
		// reports it every batch_metrics_publish_interval (1000) batches;
		// training is then cancelled.
		rate := func(layers, workers int) (float64, error) {
			runtime.GC()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var rate float64
			_, err := ipinsights.Train(ctx, config(layers, 1, seed), ds, &ipinsights.TrainOptions{Workers: workers, Progress: ipinsights.ProgressFunc(func(m ipinsights.Metrics) {
				if m.Epoch == 1 && m.Batch == 2000 && !m.EpochEnd {
					rate = m.SamplesPerSecond
					cancel()
				}
			})})
			if rate > 0 {
				return rate, nil
			}
			if err == nil {
				err = fmt.Errorf("training ended before batch 2000: use more data for the rate runs")
			}
			return 0, err
		}
		if res.rate1, err = rate(1, 1); err != nil {
			return res, err
		}
		if res.rate2, err = rate(1, 2); err != nil {
			return res, err
		}
		if res.rate0, err = rate(0, 2); err != nil {
			return res, err
		}
		res.ratio = res.rate2 / res.rate1
		res.haveRates = true
	}
	return res, nil
}

// fullRun trains epochs epochs with 2 workers on ds (parsed from t0 on),
// then scores the attack test with the model, recording into res.
func fullRun(res *result, ds *ipinsights.Dataset, t0 time.Time, pairs []ipinsights.Pair, tuples []embedding.Tuple, labels []bool, epochs int, seed uint64, cpuprofile, cli, trainCSV string) error {
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	rec := &rateRecorder{}
	t1 := time.Now()
	m, err := ipinsights.Train(context.Background(), config(1, epochs, seed), ds, &ipinsights.TrainOptions{Progress: rec, Workers: 2})
	if err != nil {
		return err
	}
	trainSeconds := time.Since(t1).Seconds()
	res.fullSeconds = time.Since(t0).Seconds()
	runtime.ReadMemStats(&ms1)
	if cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	res.peakRSS = host.PeakRSS()
	res.trainAllocs = ms1.Mallocs - ms0.Mallocs
	res.batches = rec.batches
	res.fullRate = float64(rec.samples) / trainSeconds
	res.samplesPerEpo = rec.samples / int64(epochs)

	// Quality on the attack test: anomaly = dot product below 0.
	scored := m.ScoreBatch(nil, pairs)
	dots := make([]float64, len(scored))
	for i, s := range scored {
		dots[i] = s.DotProduct
	}
	ev, err := ipinsights.Evaluate(dots, labels, 0)
	if err != nil {
		return err
	}
	res.auc, res.precision, res.recall = ev.AUC, ev.Precision, ev.Recall

	// Scoring throughput: batches of 10,000 encoded pairs, for at least 2 s
	// after one warm-up pass (which fills the projection cache).
	const batch = 10000
	dst := make([]ipinsights.Result, batch)
	scoreAll := func() int {
		n := 0
		for lo := 0; lo+batch <= len(tuples); lo += batch {
			dst = m.ScoreTuples(dst, tuples[lo:lo+batch])
			n++
		}
		return n
	}
	scoreAll()
	var nb, np int
	runtime.ReadMemStats(&ms0)
	t2 := time.Now()
	for time.Since(t2) < 2*time.Second {
		k := scoreAll()
		nb += k
		np += k * batch
	}
	res.scoreRate = float64(np) / time.Since(t2).Seconds()
	runtime.ReadMemStats(&ms1)
	res.scoreAllocs = float64(ms1.Mallocs-ms0.Mallocs) / float64(nb)
	if cli != "" {
		if res.cliRate, err = scoreCLI(cli, m, trainCSV, ds.Len()); err != nil {
			return err
		}
	}
	return nil
}

func writeCSV(path string, data *synth.Logins) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := data.WriteTrainCSV(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// resetPeakRSS resets the kernel's high-water mark of this process's
// resident set (Linux: writing 5 to /proc/self/clear_refs).
// cpuTicks returns the CPU time the hypervisor stole from this virtual
// machine and the total CPU time, in ticks since boot, from /proc/stat (0, 0
// when that is not available). A share of stolen time above a few percent
// means that other machines on the host took CPU time this one wanted, and
// its rates are not comparable with those of a quiet run. (A host whose
// memory bandwidth other machines use slows the runs down too, without
// showing here.)
func cpuTicks() (steal, total int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0
	}
	for i, v := range f[1:] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, 0
		}
		if i < 8 { // user nice system idle iowait irq softirq steal; guest time is counted in user
			total += n
		}
		if i == 7 {
			steal = n
		}
	}
	return steal, total
}

func resetPeakRSS() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

func printTable(out *os.File, rs []result, epochs int) {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "metric\t"
	for i := range rs {
		head += fmt.Sprintf("run %d\t", i+1)
	}
	fmt.Fprintln(w, head+"median\t")
	line := func(name, format string, get func(result) float64) {
		s := name + "\t"
		var xs []float64
		for _, r := range rs {
			xs = append(xs, get(r))
			s += fmt.Sprintf(format+"\t", get(r))
		}
		fmt.Fprintln(w, s+fmt.Sprintf(format+"\t", stats.Median(xs)))
	}
	if rs[0].haveRates {
		line("train samples/s, 1 worker (batches 1001-2000)", "%.0f", func(r result) float64 { return r.rate1 })
		line("train samples/s, 2 workers (batches 1001-2000)", "%.0f", func(r result) float64 { return r.rate2 })
		line("2 workers / 1 worker (same run)", "%.2f", func(r result) float64 { return r.ratio })
		line("train samples/s, 0 layers, 2 workers (1001-2000)", "%.0f", func(r result) float64 { return r.rate0 })
	}
	line("parsing the training CSV (s)", "%.2f", func(r result) float64 { return r.parseSeconds })
	if rs[0].fullSeconds > 0 {
		line(fmt.Sprintf("train samples/s, 2 workers (%d epochs)", epochs), "%.0f", func(r result) float64 { return r.fullRate })
		line(fmt.Sprintf("%d epochs, parsing included (s)", epochs), "%.1f", func(r result) float64 { return r.fullSeconds })
		line("peak RSS, parse + train (MiB)", "%.0f", func(r result) float64 { return float64(r.peakRSS) / (1 << 20) })
		line("allocations, whole training", "%.0f", func(r result) float64 { return float64(r.trainAllocs) })
		line("allocations per batch, training", "%.3f", func(r result) float64 { return float64(r.trainAllocs) / float64(r.batches) })
		line("scoring pairs/s (batches of 10000)", "%.0f", func(r result) float64 { return r.scoreRate })
		line("allocations per scored batch", "%.1f", func(r result) float64 { return r.scoreAllocs })
		if rs[0].cliRate > 0 {
			line("ipinsights score rows/s (CSV in, CSV out)", "%.0f", func(r result) float64 { return r.cliRate })
		}
		line("attack-test AUC", "%.4f", func(r result) float64 { return r.auc })
		line("precision at dot_product < 0", "%.4f", func(r result) float64 { return r.precision })
		line("recall at dot_product < 0", "%.4f", func(r result) float64 { return r.recall })
	}
	if !math.IsNaN(rs[0].stolen) {
		line("CPU time stolen by the hypervisor (%)", "%.1f", func(r result) float64 { return 100 * r.stolen })
	}
	w.Flush()
	if rs[0].samplesPerEpo > 0 {
		fmt.Fprintf(out, "expanded samples per epoch: %d; ", rs[0].samplesPerEpo)
	}
	fmt.Fprintf(out, "GOMAXPROCS %d; %s\n", runtime.GOMAXPROCS(0), runtime.Version())
}
