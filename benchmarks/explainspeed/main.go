// Command explainspeed measures "ipinsights score --explain" on the SageMaker
// tutorial's attack test at full scale: it builds the command line, makes
// the tutorial's data (10,000 users) and a model trained with the
// tutorial's hyperparameters (calibrated on the validation day, with the
// network history train writes by default), repeats the attack test
// (200,000 rows, half attacks) -repeat times, and runs the command over
// it -runs times, writing to /dev/null. It prints, per run and as
// medians, the wall-clock time and the CPU time of the command (user and
// system, model load included) and the rows per second of each, with the
// CPU model and the load average, since the machine may be shared.
//
//	go run ./benchmarks/explainspeed                     # in a temporary directory, removed after
//	go run ./benchmarks/explainspeed -dir /tmp/xs        # keep the data and model there, reuse them next time
//	go run ./benchmarks/explainspeed -dir /tmp/xs -baseline -format jsonl -runs 5
//
// -baseline also runs plain "score" (no explanation), alternating with the
// explained runs so that both see the same load.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ipinsights/ipinsights-go/internal/bench/host"
	"github.com/ipinsights/ipinsights-go/internal/stats"

	"github.com/ipinsights/ipinsights-go/internal/tutorial"
)

func main() {
	dir := flag.String("dir", "", "work directory for the CLI, data and model, kept and reused (default: a temporary one, removed)")
	bin := flag.String("bin", "", "the ipinsights binary to measure (default: build ./cmd/ipinsights into the work directory)")
	users := flag.Int("users", 10000, "users of the tutorial's data (10,000 is its full scale)")
	seed := flag.Int("seed", 1, "seed of the data and the training")
	epochs := flag.Int("epochs", 2, "training epochs (the tutorial's 5 give the same speed of explaining)")
	repeat := flag.Int("repeat", 5, "copies of the attack test scored in one run")
	runs := flag.Int("runs", 3, "runs; figures are medians")
	format := flag.String("format", "csv", "score --format: csv or jsonl")
	baseline := flag.Bool("baseline", false, "also run score without --explain, alternating")
	flag.Parse()
	if *repeat < 1 || *runs < 1 || *users < 10 {
		log.Fatal("-repeat and -runs must be at least 1, -users at least 10")
	}

	work := *dir
	if work == "" {
		d, err := os.MkdirTemp("", "explainspeed")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(d)
		work = d
	} else if err := os.MkdirAll(work, 0o755); err != nil {
		log.Fatal(err)
	}
	cli := *bin
	if cli == "" {
		cli = filepath.Join(work, "ipinsights")
		run("go", "build", "-o", cli, "github.com/ipinsights/ipinsights-go/cmd/ipinsights")
	}
	data := filepath.Join(work, fmt.Sprintf("data-%d-%d", *users, *seed))
	if !exists(filepath.Join(data, "test_labeled.csv")) {
		run(cli, "gen", "logins", "--users", strconv.Itoa(*users), "--seed", strconv.Itoa(*seed), "--out", data)
	}
	model := filepath.Join(work, fmt.Sprintf("model-%d-%d-e%d.bin", *users, *seed, *epochs))
	if !exists(model) {
		args := []string{"train", "--train", filepath.Join(data, "train.csv"), "--validation", filepath.Join(data, "validation.csv"),
			"--model", model, "--seed", strconv.Itoa(*seed)}
		for _, k := range slices.Sorted(maps.Keys(tutorial.Hyperparameters)) {
			v := tutorial.Hyperparameters[k]
			if k == "epochs" {
				v = strconv.Itoa(*epochs)
			}
			args = append(args, "--hp", k+"="+v)
		}
		run(cli, args...)
	}
	input := filepath.Join(work, fmt.Sprintf("attack-%d-%d-x%d.csv", *users, *seed, *repeat))
	rows, err := repeatFile(input, filepath.Join(data, "test_labeled.csv"), *repeat)
	if err != nil {
		log.Fatal(err)
	}

	fmt.Printf("score --explain speed: %s rows (the attack test of %d users x %d), --format %s, model %s\n",
		commas(rows), *users, *repeat, *format, filepath.Base(model))
	fmt.Printf("CPU %s, %d CPUs, %s\n\n", host.CPUModel(), runtime.NumCPU(), runtime.Version())
	variants := []string{"explain"}
	if *baseline {
		variants = append(variants, "plain")
	}
	fmt.Printf("%-8s %4s %8s %8s %12s %14s %12s\n", "variant", "run", "wall s", "CPU s", "rows/s wall", "rows/CPU-s", "load before")
	res := map[string][]result{}
	for r := 1; r <= *runs; r++ {
		for _, v := range variants {
			args := []string{"score", "--model", model, "--input", input, "--output", os.DevNull, "--format", *format}
			if v == "explain" {
				args = append(args, "--explain")
			}
			x := measure(cli, args)
			res[v] = append(res[v], x)
			fmt.Printf("%-8s %4d %8.2f %8.2f %12s %14s %12s\n", v, r, x.wall.Seconds(), x.cpu.Seconds(),
				commas(int(float64(rows)/x.wall.Seconds())), commas(int(float64(rows)/x.cpu.Seconds())), x.load)
		}
	}
	fmt.Println()
	for _, v := range variants {
		wall := medianOf(res[v], func(x result) float64 { return x.wall.Seconds() })
		cpu := medianOf(res[v], func(x result) float64 { return x.cpu.Seconds() })
		fmt.Printf("%-8s median of %d: %.2f s wall, %.2f CPU-s: %s rows/s wall clock, %s rows per CPU-second\n",
			v, *runs, wall, cpu, commas(int(float64(rows)/wall)), commas(int(float64(rows)/cpu)))
	}
}

type result struct {
	wall, cpu time.Duration
	load      string
}

// measure runs the command and returns its wall-clock and CPU time.
func measure(name string, args []string) result {
	load := loadAvg()
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		log.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.Bytes())
	}
	wall := time.Since(start)
	ps := cmd.ProcessState
	return result{wall: wall, cpu: ps.UserTime() + ps.SystemTime(), load: load}
}

// run runs a preparation step, its output to standard error.
func run(name string, args ...string) {
	fmt.Fprintf(os.Stderr, "+ %s %s\n", filepath.Base(name), strings.Join(args, " "))
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		log.Fatalf("%s: %v", name, err)
	}
}

// repeatFile writes n copies of src to dst, unless dst exists, and returns
// the number of rows of dst.
func repeatFile(dst, src string, n int) (int, error) {
	b, err := os.ReadFile(src)
	if err != nil {
		return 0, err
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		b = append(b, '\n')
	}
	rows := bytes.Count(b, []byte{'\n'}) * n
	if exists(dst) {
		return rows, nil
	}
	f, err := os.Create(dst + ".tmp")
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriter(f)
	for range n {
		w.Write(b)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, err
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	return rows, os.Rename(dst+".tmp", dst)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// medianOf returns the median of f over xs.
func medianOf(xs []result, f func(result) float64) float64 {
	v := make([]float64, len(xs))
	for i, x := range xs {
		v[i] = f(x)
	}
	return stats.Median(v)
}

// loadAvg returns the 1-minute load average, or "-" where unknown.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "-"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "-"
	}
	return f[0]
}

// commas writes n with thousands separators.
func commas(n int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && c != '-' && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
