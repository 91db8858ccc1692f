// Command serverload is a bounded loopback load test of "ipinsights serve":
// it measures the throughput of 1000-row text/csv requests (rows scored per
// second) and the latency of single-row requests sent at a fixed rate
// (1,000 requests/s by default), against the targets of at least 200,000
// rows/s and a p99 of at most 2 ms; with --stalled connections held open
// all along (each sends the headers and 15 bytes of a declared 100 KB body,
// then nothing, and is opened again when the server drops it), against at
// least 1,000,000 rows/s and a p99 of at most 5 ms.
//
//	go run ./benchmarks/serverload                 # in-process server on 127.0.0.1, trained model
//	go run ./benchmarks/serverload --model m.bin   # serve this model instead
//	go run ./benchmarks/serverload --url http://127.0.0.1:8080   # a running server
//	go run ./benchmarks/serverload --stalled 500   # with 500 stalled connections
//	go run ./benchmarks/serverload --auth          # every request signed (SigV4), verified by the server
//
// Every phase runs a fixed number of times for a fixed duration, and only
// over loopback (or the given URL). The client shares the machine with the
// server: on a 2-core machine both compete for the same cores, so the
// figures are a lower bound of what the server does alone. Results are
// medians of --runs runs.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	neturl "net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/ipinsights/ipinsights-go/inference"
	"github.com/ipinsights/ipinsights-go/internal/bench/cputime"
	"github.com/ipinsights/ipinsights-go/internal/stats"
	"github.com/ipinsights/ipinsights-go/internal/test/testmodel"
	"github.com/ipinsights/ipinsights-go/internal/tutorial"
	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/ipinsights/ipinsights-go/rng"
	"github.com/ipinsights/ipinsights-go/server"
	"github.com/ipinsights/ipinsights-go/sigv4"
)

func main() {
	modelPath := flag.String("model", "", "model file to serve (default: train one with vector_dim 128, num_entity_vectors 20000, as SageMaker's tutorial)")
	url := flag.String("url", "", "base URL of a running server (default: start one in-process on 127.0.0.1)")
	runs := flag.Int("runs", 5, "runs of each phase; the median is reported")
	duration := flag.Duration("duration", 5*time.Second, "length of each run")
	batchRows := flag.Int("batch-rows", 1000, "records per request in the throughput phase")
	conns := flag.Int("conns", 4, "concurrent connections in the throughput phase")
	rate := flag.Int("rate", 1000, "requests per second in the latency phase")
	format := flag.String("format", "text/csv", "request Content-Type: text/csv, application/json or application/jsonlines")
	phases := flag.String("phases", "throughput,latency", "phases to run, comma-separated")
	logRequests := flag.Bool("log", true, "in-process server: log every request as JSON (to io.Discard), as a deployment would")
	scoreWorkers := flag.Int("score-workers", 0, "in-process server: goroutines that score one request (server.Options.ScoreWorkers; 0: the server's default)")
	stalled := flag.Int("stalled", 0, "connections held stalled during the phases (headers and 15 bytes of a declared 100 KB body, then nothing; opened again when dropped)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the phases (client and in-process server) to this file")
	auth := flag.Bool("auth", false, "sign every request with AWS Signature Version 4 (key "+benchKey.AccessKeyID+"); the in-process server verifies them")
	flag.Parse()
	f, err := inference.ParseContentType(*format)
	if err != nil {
		log.Fatal(err)
	}
	if *runs < 1 || *duration <= 0 || *batchRows < 1 || *conns < 1 || *rate < 1 || *scoreWorkers < 0 || *stalled < 0 {
		log.Fatal("serverload: --runs, --duration, --batch-rows, --conns and --rate must be positive, --score-workers and --stalled 0 or more")
	}

	base := *url
	var m *ipinsights.Model
	serving := "external server"
	if base == "" {
		if m, err = loadOrTrain(*modelPath); err != nil {
			log.Fatal(err)
		}
		var stop func()
		var opts server.Options
		if base, opts, stop, err = startServer(m, *logRequests, *scoreWorkers, *auth); err != nil {
			log.Fatal(err)
		}
		defer stop()
		serving = fmt.Sprintf("max_concurrent=%d score_workers=%d max_connections=%d sigv4=%t", opts.MaxConcurrent, opts.ScoreWorkers, opts.MaxConnections, opts.SigV4 != nil)
	}
	endpoint := base + "/invocations"
	fmt.Printf("serverload: GOMAXPROCS=%d, %s, %s, endpoint %s\n", runtime.GOMAXPROCS(0), describe(m), serving, endpoint)

	gen := newGenerator(7)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}, Timeout: 30 * time.Second}
	if *auth {
		signing = v4.NewSigner()
	}
	targets := [2]float64{200000, 2}
	if *stalled > 0 {
		u, err := neturl.Parse(base)
		if err != nil {
			log.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		opened := holdStalled(ctx, u.Host, *stalled)
		defer func() {
			fmt.Printf("\nstalled: %d connections held; %d opened in all (the server drops each after its transfer timeout)\n", *stalled, opened.Load())
		}()
		fmt.Printf("\nstalled: holding %d connections...\n", *stalled)
		time.Sleep(2 * time.Second) // let them connect
		printGauges(client, base)
		targets = [2]float64{1000000, 5}
	}

	run := map[string]bool{}
	for _, p := range strings.Split(*phases, ",") {
		run[strings.TrimSpace(p)] = true
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	if run["throughput"] {
		throughputPhase(client, endpoint, f, gen, m != nil, *batchRows, *conns, *runs, *duration, targets[0])
	}
	if run["latency"] {
		latencyPhase(client, endpoint, f, gen, m != nil, *rate, *runs, *duration, targets[1])
	}
	if *stalled > 0 {
		printGauges(client, base)
	}
}

// benchKey is the access key of --auth.
var benchKey = sigv4.Key{AccessKeyID: "AKIDSERVERLOAD", SecretAccessKey: "serverload-secret"}

// signing signs requests when --auth is set.
var signing *v4.Signer

// holdStalled keeps n stalled connections to addr open until ctx is done:
// each sends the headers and 15 bytes of a declared 100 KB text/csv body,
// then nothing, and is opened again once the server answers or drops it.
// It returns the count of connections opened.
func holdStalled(ctx context.Context, addr string, n int) *atomic.Int64 {
	var opened atomic.Int64
	for range n {
		go func() {
			for ctx.Err() == nil {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					time.Sleep(100 * time.Millisecond)
					continue
				}
				stop := context.AfterFunc(ctx, func() { c.Close() })
				opened.Add(1)
				fmt.Fprintf(c, "POST /invocations HTTP/1.1\r\nHost: %s\r\nContent-Type: text/csv\r\nContent-Length: 100000\r\n\r\nuser-001,10.0.0", addr)
				io.Copy(io.Discard, c) // until the server drops it
				stop()
				c.Close()
			}
		}()
	}
	return &opened
}

// printGauges prints the server's gauges of its bounds from /metrics.
func printGauges(c *http.Client, base string) {
	req, err := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	if err != nil {
		log.Fatal(err)
	}
	sign(req, nil)
	resp, err := c.Do(req)
	if err != nil {
		fmt.Println("  /metrics:", err)
		return
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	var out []string
	for _, line := range strings.Split(string(text), "\n") {
		for _, name := range []string{"ipinsights_connections_open", "ipinsights_connections_refused_total", "ipinsights_buffered_bytes", "ipinsights_invocation_slots_busy", "ipinsights_invocations_queued", `ipinsights_errors_total{code="RequestTimeout"}`} {
			if strings.HasPrefix(line, name+" ") {
				out = append(out, line)
			}
		}
	}
	fmt.Printf("  server: %s\n", strings.Join(out, ", "))
}

// sign signs req, whose body is body, when --auth is set.
func sign(req *http.Request, body []byte) {
	if signing == nil {
		return
	}
	h := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: benchKey.AccessKeyID, SecretAccessKey: benchKey.SecretAccessKey}
	if err := signing.SignHTTP(context.Background(), creds, req, hex.EncodeToString(h[:]), "sagemaker", "us-east-1", time.Now()); err != nil {
		log.Fatal(err)
	}
}

// throughputPhase sends large requests back to back from conns connections.
func throughputPhase(client *http.Client, endpoint string, f inference.Format, gen *generator, inProcess bool, batchRows, conns, runs int, duration time.Duration, target float64) {
	var err error
	bodies := make([][]byte, 16)
	for i := range bodies {
		if bodies[i], err = inference.AppendRequest(nil, f, gen.records(batchRows)); err != nil {
			log.Fatal(err)
		}
	}
	if err := check(client, endpoint, f, bodies[0], batchRows); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("\nthroughput: %d-row %s requests, %d connections, %s per run\n", batchRows, f, conns, duration)
	var rowRates, cpuRates []float64
	for r := 1; r <= runs; r++ {
		cpu0 := cputime.Process()
		rows, reqs, errs, elapsed, lat := throughput(client, endpoint, f, bodies, batchRows, conns, duration)
		cpu := cputime.Process() - cpu0
		rps := float64(rows) / elapsed.Seconds()
		rowRates = append(rowRates, rps)
		line := fmt.Sprintf("  run %d: %9.0f rows/s  (%d requests, %d errors; latency p50 %.2f ms, p99 %.2f ms)",
			r, rps, reqs, errs, quantile(lat, 0.5)*1e3, quantile(lat, 0.99)*1e3)
		if inProcess && cpu > 0 {
			cpuRates = append(cpuRates, float64(rows)/cpu.Seconds())
			line += fmt.Sprintf("; this process used %.2f CPU-s: %.0f rows per CPU-second, client included", cpu.Seconds(), float64(rows)/cpu.Seconds())
		}
		fmt.Println(line)
	}
	fmt.Printf("  median: %.0f rows/s  (target >= %.0f)\n", stats.Median(rowRates), target)
	if len(cpuRates) > 0 {
		// On a shared machine wall-clock rates fall with other people's
		// load; CPU time spent per row does not, so it tells what two
		// otherwise idle cores would do.
		fmt.Printf("  median: %.0f rows per CPU-second (client and server together; x%d cores = %.0f rows/s if the cores were ours alone)\n",
			stats.Median(cpuRates), runtime.GOMAXPROCS(0), stats.Median(cpuRates)*float64(runtime.GOMAXPROCS(0)))
	}

}

// latencyPhase sends single-row requests at a fixed rate.
func latencyPhase(client *http.Client, endpoint string, f inference.Format, gen *generator, inProcess bool, rate, runs int, duration time.Duration, target float64) {
	var err error
	singles := make([][]byte, 1024)
	for i := range singles {
		if singles[i], err = inference.AppendRequest(nil, f, gen.records(1)); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("\nlatency: 1-row %s requests at %d requests/s, %s per run (from scheduled send to full response)\n", f, rate, duration)
	var p99s []float64
	for r := 1; r <= runs; r++ {
		cpu0 := cputime.Process()
		lat, errs := openLoop(client, endpoint, f, singles, rate, duration)
		cpu := cputime.Process() - cpu0
		q := func(p float64) float64 { return quantile(lat, p) * 1e3 }
		p99s = append(p99s, q(0.99))
		line := fmt.Sprintf("  run %d: p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  max %.3f ms  (%d requests, %d errors)",
			r, q(0.5), q(0.9), q(0.99), q(0.999), q(1), len(lat), errs)
		if inProcess && len(lat) > 0 {
			line += fmt.Sprintf("; %.0f µs CPU per request, client included", cpu.Seconds()/float64(len(lat)+errs)*1e6)
		}
		fmt.Println(line)
	}
	fmt.Printf("  median p99: %.3f ms  (target <= %g ms)\n", stats.Median(p99s), target)
}

func describe(m *ipinsights.Model) string {
	if m == nil {
		return "external server"
	}
	c := m.Config()
	return fmt.Sprintf("model vector_dim=%d num_entity_vectors=%d num_ip_encoder_layers=%d", c.VectorDim, c.NumEntityVectors, c.NumIPEncoderLayers)
}

// loadOrTrain loads path, or trains a model of the tutorial's shape
// (vector_dim 128, 20000 entity vectors, one encoder layer) on a little
// generated data: scoring cost depends on the shape, not on how well the
// model learned.
func loadOrTrain(path string) (*ipinsights.Model, error) {
	if path != "" {
		return ipinsights.LoadFile(path)
	}
	cfg, _, err := tutorial.Config(map[string]string{"epochs": "1"})
	if err != nil {
		return nil, err
	}
	data := ipinsights.NewDataset()
	for _, p := range testmodel.Pairs(1, 10000, 10000) {
		data.Add(p.Entity, p.IP)
	}
	fmt.Fprintln(os.Stderr, "serverload: training a vector_dim 128 model on 10,000 generated pairs...")
	return ipinsights.Train(context.Background(), cfg, data, nil)
}

// startServer serves m on a loopback port as "ipinsights serve" does, and
// returns its URL and options, defaults filled in.
func startServer(m *ipinsights.Model, logRequests bool, scoreWorkers int, auth bool) (string, server.Options, func(), error) {
	opts := server.Options{ScoreWorkers: scoreWorkers}
	if logRequests {
		opts.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	if auth {
		v, err := sigv4.NewVerifier([]sigv4.Key{benchKey}, sigv4.Options{Region: "us-east-1", Service: "sagemaker"})
		if err != nil {
			return "", opts, nil, err
		}
		opts.SigV4 = v
	}
	s, err := server.New(m, opts)
	if err != nil {
		return "", opts, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", opts, nil, err
	}
	hs := s.HTTPServer(ln.Addr().String())
	go hs.Serve(s.Listener(ln, nil))
	return "http://" + ln.Addr().String(), s.Options(), func() { hs.Close() }, nil
}

// generator makes request records: entities of the trained range (and a
// few unseen ones), addresses in the generated networks and random ones.
type generator struct {
	r     *rng.RNG
	pairs []ipinsights.Pair
}

func newGenerator(seed uint64) *generator {
	return &generator{r: rng.New(seed, 2), pairs: testmodel.Pairs(seed, 10000, 4096)}
}

func (g *generator) records(n int) []ipinsights.Pair {
	out := make([]ipinsights.Pair, n)
	for i := range out {
		p := g.pairs[g.r.IntN(len(g.pairs))]
		out[i] = p
		switch g.r.IntN(10) {
		case 0:
			out[i].Entity = fmt.Sprintf("stranger-%d", g.r.IntN(1000))
		case 1:
			v := g.r.Uint32()
			out[i].IP = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		}
	}
	return out
}

// send posts one body, signed when --auth is set, and reads the whole
// response.
func send(c *http.Client, url string, f inference.Format, body []byte) ([]byte, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", f.MediaType())
	sign(req, body)
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d: %s", resp.StatusCode, out)
	}
	return out, err
}

// check makes sure the server answers a request with one prediction a row.
func check(c *http.Client, url string, f inference.Format, body []byte, rows int) error {
	out, err := send(c, url, f, body)
	if err != nil {
		return err
	}
	preds, err := inference.DecodeResponse(inference.JSON, out)
	if err != nil {
		return err
	}
	if len(preds) != rows {
		return fmt.Errorf("serverload: %d predictions for %d rows", len(preds), rows)
	}
	return nil
}

// throughput sends bodies from conns goroutines back to back for d. It
// returns the rows scored, the requests and errors, the time taken and the
// sorted latencies of the successful requests, in seconds.
func throughput(c *http.Client, url string, f inference.Format, bodies [][]byte, rows, conns int, d time.Duration) (int64, int64, int64, time.Duration, []float64) {
	var okRows, reqs, errs atomic.Int64
	lats := make([][]float64, conns)
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; time.Now().Before(deadline); i++ {
				t0 := time.Now()
				_, err := send(c, url, f, bodies[i%len(bodies)])
				reqs.Add(1)
				if err != nil {
					errs.Add(1)
					continue
				}
				lats[w] = append(lats[w], time.Since(t0).Seconds())
				okRows.Add(int64(rows))
			}
		}()
	}
	wg.Wait()
	lat := slices.Concat(lats...)
	slices.Sort(lat)
	return okRows.Load(), reqs.Load(), errs.Load(), time.Since(start), lat
}

// openLoop sends one request every 1/rate seconds for d, whatever the
// responses do, from a pool of workers, and returns each latency measured
// from the request's scheduled send time (so that a stall delays the
// schedule's later requests and counts against them, avoiding coordinated
// omission).
func openLoop(c *http.Client, url string, f inference.Format, bodies [][]byte, rate int, d time.Duration) ([]float64, int) {
	n := int(d.Seconds() * float64(rate))
	interval := time.Second / time.Duration(rate)
	type job struct {
		at   time.Time
		body []byte
	}
	jobs := make(chan job, n)
	lat := make([]float64, 0, n)
	var mu sync.Mutex
	var errs int
	var wg sync.WaitGroup
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				_, err := send(c, url, f, j.body)
				l := time.Since(j.at).Seconds()
				mu.Lock()
				if err != nil {
					errs++
				} else {
					lat = append(lat, l)
				}
				mu.Unlock()
			}
		}()
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		at := start.Add(time.Duration(i) * interval)
		if w := time.Until(at); w > 0 {
			time.Sleep(w)
		}
		jobs <- job{at: at, body: bodies[i%len(bodies)]}
	}
	close(jobs)
	wg.Wait()
	slices.Sort(lat)
	return lat, errs
}

// quantile returns the p-quantile of sorted xs (nearest rank).
func quantile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	i := int(p*float64(len(xs))+0.5) - 1
	return xs[min(max(i, 0), len(xs)-1)]
}
