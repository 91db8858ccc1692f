package ipinsights_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ipinsights/ipinsights-go/csvio"
	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// The examples that train print qualitative results ("scores higher: true")
// rather than scores: training is bit-reproducible for a seed on one
// machine, but the AVX2 and the pure-Go kernels round differently in the
// last bits. Each trains in well under a second.

func ExampleTrain() {
	// 40 users; user7 logs in from its home network 10.7.0.0/16 and, one
	// time in three, from its office 172.7.0.0/16.
	data := ipinsights.NewDataset()
	for i := range 4000 {
		u, first := i%40, byte(10)
		if i%3 == 0 {
			first = 172
		}
		data.Add(fmt.Sprintf("user%d", u), netip.AddrFrom4([4]byte{first, byte(u), byte(i), byte(i >> 8)}))
	}

	// SageMaker's hyperparameter names and string values; the others keep
	// SageMaker's defaults (see DefaultConfig).
	cfg, err := ipinsights.ParseHyperparameters(map[string]string{
		"num_entity_vectors": "1000", "vector_dim": "16", "epochs": "5",
		"mini_batch_size": "300", "random_negative_sampling_rate": "5", "learning_rate": "0.01",
	})
	if err != nil {
		log.Fatal(err)
	}
	var epochs []ipinsights.Metrics
	model, err := ipinsights.Train(context.Background(), cfg, data, &ipinsights.TrainOptions{
		Progress: ipinsights.ProgressFunc(func(m ipinsights.Metrics) {
			if m.EpochEnd {
				epochs = append(epochs, m)
			}
		}),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("epochs:", len(epochs))
	fmt.Println("cross-entropy fell:", epochs[4].CrossEntropy < epochs[0].CrossEntropy)
	fmt.Println("entities seen:", model.SeenEntities())

	home := model.Score("user7", netip.MustParseAddr("10.7.1.2"))
	office := model.Score("user7", netip.MustParseAddr("172.7.200.1"))
	away := model.Score("user7", netip.MustParseAddr("203.0.113.9"))
	fmt.Println("home and office score higher than away:", home.DotProduct > away.DotProduct && office.DotProduct > away.DotProduct)
	// Output:
	// epochs: 5
	// cross-entropy fell: true
	// entities seen: 40
	// home and office score higher than away: true
}

func ExampleParseHyperparameters() {
	// As a SageMaker training job takes them: SageMaker's names, string values.
	cfg, err := ipinsights.ParseHyperparameters(map[string]string{
		"num_entity_vectors": "20000", "vector_dim": "128", "epochs": "5",
		"mini_batch_size": "1000", "random_negative_sampling_rate": "5", "learning_rate": "0.01",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("vector_dim:", cfg.VectorDim)
	fmt.Println("shuffled_negative_sampling_rate (default):", cfg.ShuffledNegativeSamplingRate)

	// Unknown names and values out of SageMaker's ranges are refused.
	_, err = ipinsights.ParseHyperparameters(map[string]string{"vector_dim": "2"})
	fmt.Println(err)
	_, err = ipinsights.ParseHyperparameters(map[string]string{"vectordim": "64"})
	var hpErr *ipinsights.HyperparameterError
	fmt.Println(errors.As(err, &hpErr), hpErr.Key)
	// Output:
	// vector_dim: 128
	// shuffled_negative_sampling_rate (default): 1
	// hyperparameter vector_dim="2": out of range; allowed: 4 to 4096
	// true vectordim
}

func ExampleConfig_Set() {
	cfg := ipinsights.DefaultConfig()
	// Set applies all the values or none of them.
	err := cfg.Set(map[string]string{"epochs": "3", "random_negative_sampling_rate": "0", "shuffled_negative_sampling_rate": "0"})
	fmt.Println(err)
	fmt.Println("epochs unchanged:", cfg.Epochs)

	if err := cfg.Set(map[string]string{"epochs": "3", "seed": "42"}); err != nil {
		log.Fatal(err)
	}
	fmt.Println("epochs:", cfg.Epochs, "seed:", cfg.Seed)
	// Output:
	// hyperparameter random_negative_sampling_rate+shuffled_negative_sampling_rate="0": the sum of the two negative sampling rates is out of range; allowed: 1 to 500
	// epochs unchanged: 10
	// epochs: 3 seed: 42
}

func ExampleConfig_SageMakerHyperparameters() {
	cfg := ipinsights.DefaultConfig()
	cfg.VectorDim = 64
	cfg.Seed = 7 // ours: not sent to SageMaker, whose container refuses unknown names
	hp := cfg.SageMakerHyperparameters()
	for _, name := range ipinsights.SageMakerNames() {
		fmt.Printf("%s=%s\n", name, hp[name])
	}
	// Output:
	// num_entity_vectors=100000
	// vector_dim=64
	// epochs=10
	// learning_rate=0.001
	// mini_batch_size=5000
	// num_ip_encoder_layers=1
	// random_negative_sampling_rate=1
	// shuffled_negative_sampling_rate=1
	// weight_decay=1e-05
	// batch_metrics_publish_interval=1000
}

func ExampleLoadDataset() {
	dir, err := os.MkdirTemp("", "ipinsights-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	// SageMaker's training format: entity,ip rows with no header, a space
	// after the comma allowed. IPv6 is accepted too (SageMaker reads IPv4 only).
	path := filepath.Join(dir, "train.csv")
	rows := "alice, 192.0.2.10\nbob, 198.51.100.7\nalice, 192.0.2\ncarol, 2001:db8::1\n"
	if err := os.WriteFile(path, []byte(rows), 0o644); err != nil {
		log.Fatal(err)
	}

	// Strict (the default): the first malformed row is an error naming the
	// file (Options.Name, else the path) and the line.
	_, _, err = ipinsights.LoadDataset(context.Background(), path, csvio.Options{Name: "train.csv"})
	fmt.Println(err)

	// Lenient: malformed rows are skipped and counted.
	data, skipped, err := ipinsights.LoadDataset(context.Background(), path, csvio.Options{Name: "train.csv", Lenient: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(data.Len(), "pairs,", data.IPv6(), "IPv6")
	fmt.Println(skipped)
	// Output:
	// train.csv:3: unparsable IP address: "192.0.2"
	// 3 pairs, 1 IPv6
	// train.csv: skipped 1 row: 1 unparsable IP address (line 3)
}

func ExampleReadDataset() {
	// Any io.Reader: a network stream, stdin, a string.
	r := csvio.NewReader(strings.NewReader("alice,192.0.2.10\r\n\"bob, jr\",198.51.100.7\r\n"), csvio.Options{})
	data, err := ipinsights.ReadDataset(context.Background(), r)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(data.Len(), "pairs")
	// Output:
	// 2 pairs
}

func ExampleDataset_Invalid() {
	data := ipinsights.NewDataset()
	data.Add("alice", netip.MustParseAddr("192.0.2.10"))
	ip, _ := netip.ParseAddr("192.0.2") // the error ignored: ip is the zero netip.Addr
	data.Add("bob", ip)
	fmt.Println("pairs:", data.Len(), "invalid:", data.Invalid())

	// Train refuses such a dataset rather than train on the address "::".
	_, err := ipinsights.Train(context.Background(), ipinsights.DefaultConfig(), data, nil)
	fmt.Println(err)
	// Output:
	// pairs: 1 invalid: 1
	// ipinsights: the training data was given 1 pair with an invalid (zero) address; see Dataset.Invalid
}

func ExampleModel_Score() {
	data := ipinsights.NewDataset()
	for i := range 4000 { // user7 logs in from 10.7.0.0/16
		u := i % 40
		data.Add(fmt.Sprintf("user%d", u), netip.AddrFrom4([4]byte{10, byte(u), byte(i), byte(i >> 8)}))
	}
	cfg := ipinsights.DefaultConfig()
	cfg.NumEntityVectors, cfg.VectorDim, cfg.Epochs = 1000, 16, 5
	cfg.MiniBatchSize, cfg.RandomNegativeSamplingRate, cfg.LearningRate = 300, 5, 0.01
	model, err := ipinsights.Train(context.Background(), cfg, data, nil)
	if err != nil {
		log.Fatal(err)
	}

	// DotProduct: higher is more normal; below 0 the model finds the pair
	// more likely a random pairing than a real one.
	res := model.Score("user7", netip.MustParseAddr("10.7.1.2"))
	fmt.Println("user7 from home:", res.DotProduct > 0, "seen:", res.EntitySeen)
	res = model.Score("user7", netip.MustParseAddr("10.8.1.2"))
	fmt.Println("user7 from user8's network:", res.DotProduct > 0, "seen:", res.EntitySeen)

	// An entity absent from training gets a score too (of an untrained or
	// another entity's hash bucket), as from SageMaker; it means nothing.
	res = model.Score("mallory", netip.MustParseAddr("10.7.1.2"))
	fmt.Println("mallory seen:", res.EntitySeen)

	// The zero netip.Addr (a failed parse) scores NaN.
	fmt.Println("invalid address:", model.Score("user7", netip.Addr{}).DotProduct)
	// Output:
	// user7 from home: true seen: true
	// user7 from user8's network: false seen: true
	// mallory seen: false
	// invalid address: NaN
}

func ExampleModel_ScoreBatch() {
	data := ipinsights.NewDataset()
	for i := range 4000 { // user7 logs in from 10.7.0.0/16
		u := i % 40
		data.Add(fmt.Sprintf("user%d", u), netip.AddrFrom4([4]byte{10, byte(u), byte(i), byte(i >> 8)}))
	}
	cfg := ipinsights.DefaultConfig()
	cfg.NumEntityVectors, cfg.VectorDim, cfg.Epochs = 1000, 16, 5
	cfg.MiniBatchSize, cfg.RandomNegativeSamplingRate, cfg.LearningRate = 300, 5, 0.01
	model, err := ipinsights.Train(context.Background(), cfg, data, nil)
	if err != nil {
		log.Fatal(err)
	}

	pairs := []ipinsights.Pair{
		{Entity: "user7", IP: netip.MustParseAddr("10.7.1.2")},
		{Entity: "user7", IP: netip.MustParseAddr("203.0.113.9")},
		{Entity: "mallory", IP: netip.MustParseAddr("10.7.1.2")},
	}
	var results []ipinsights.Result // reuse across batches: no allocation once grown
	results = model.ScoreBatch(results[:0], pairs)
	for i, res := range results {
		verdict := "normal"
		switch {
		case !res.EntitySeen:
			verdict = "unknown entity: score means nothing"
		case res.DotProduct < 0:
			verdict = "unusual"
		}
		fmt.Printf("%-8s %-12s %s\n", pairs[i].Entity, pairs[i].IP, verdict)
	}

	// A program that scores several batches at once (a server) bounds the
	// goroutines of each; 1 scores in the calling goroutine only. The
	// results do not depend on it.
	alone := model.ScoreBatchWorkers(nil, pairs, 1)
	fmt.Println("same results with 1 worker:", slices.Equal(alone, results))
	// Output:
	// user7    10.7.1.2     normal
	// user7    203.0.113.9  unusual
	// mallory  10.7.1.2     unknown entity: score means nothing
	// same results with 1 worker: true
}

func ExampleModel_SaveFile() {
	data := ipinsights.NewDataset()
	for i := range 2000 {
		u := i % 20
		data.Add(fmt.Sprintf("user%d", u), netip.AddrFrom4([4]byte{10, byte(u), byte(i), byte(i >> 8)}))
	}
	cfg := ipinsights.DefaultConfig()
	cfg.NumEntityVectors, cfg.VectorDim, cfg.Epochs, cfg.MiniBatchSize = 1000, 8, 1, 300
	model, err := ipinsights.Train(context.Background(), cfg, data, nil)
	if err != nil {
		log.Fatal(err)
	}

	dir, err := os.MkdirTemp("", "ipinsights-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.bin")
	if err := model.SaveFile(path); err != nil {
		log.Fatal(err)
	}
	loaded, err := ipinsights.LoadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	ip := netip.MustParseAddr("10.3.1.1")
	fmt.Println("same score:", loaded.Score("user3", ip) == model.Score("user3", ip))
	fmt.Println("vector_dim:", loaded.Config().VectorDim, "entities seen:", loaded.SeenEntities())

	// Save and Load work on any io.Writer and io.Reader; the bytes are the
	// same every time.
	var buf bytes.Buffer
	if err := loaded.Save(&buf); err != nil {
		log.Fatal(err)
	}
	onDisk, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("same bytes:", bytes.Equal(buf.Bytes(), onDisk))

	// Damaged or foreign files are refused.
	onDisk[len(onDisk)/2] ^= 1
	_, err = ipinsights.Load(bytes.NewReader(onDisk))
	fmt.Println("corrupt:", errors.Is(err, ipinsights.ErrCorrupt))
	_, err = ipinsights.Load(strings.NewReader("alice,192.0.2.10\n"))
	fmt.Println("not a model:", errors.Is(err, ipinsights.ErrNotModel))
	// Output:
	// same score: true
	// vector_dim: 8 entities seen: 20
	// same bytes: true
	// corrupt: true
	// not a model: true
}

func ExampleEvaluate() {
	// Dot products of labeled pairs, as a model scored them (low = unusual),
	// and the labels: true (label 1) for the anomalies.
	dots := []float64{3.1, 0.2, -0.5, -4.2, 1.7, 0.9}
	anomalous := []bool{false, false, true, true, false, true}

	// Flag the pairs whose dot product is below 0.
	ev, err := ipinsights.Evaluate(dots, anomalous, 0)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("AUC %.3f\n", ev.AUC)
	fmt.Printf("flagged %d of %d anomalies and %d of %d normal pairs\n", ev.TP, ev.Anomalies, ev.FP, ev.N-ev.Anomalies)
	fmt.Printf("precision %.3f, recall %.3f, false-positive rate %.3f\n", ev.Precision, ev.Recall, ev.FPR)
	// Output:
	// AUC 0.889
	// flagged 2 of 3 anomalies and 0 of 3 normal pairs
	// precision 1.000, recall 0.667, false-positive rate 0.000
}

func ExampleAUC() {
	dots := []float64{3.1, 0.2, -0.5, -4.2, 1.7, 0.9}
	anomalous := []bool{false, false, true, true, false, true}

	// AUC counts high scores as positive. Dot products are high for normal
	// pairs, so to measure how well they find anomalies, negate them (as
	// Evaluate does).
	neg := make([]float64, len(dots))
	for i, d := range dots {
		neg[i] = -d
	}
	fmt.Printf("anomalies found: AUC %.3f\n", ipinsights.AUC(neg, anomalous))
	// Passed as they are, the dot products measure the opposite.
	fmt.Printf("the wrong way round: AUC %.3f\n", ipinsights.AUC(dots, anomalous))
	// A NaN score (an invalid address) makes the AUC NaN.
	fmt.Println(ipinsights.AUC([]float64{1, math.NaN()}, []bool{true, false}))
	// Output:
	// anomalies found: AUC 0.889
	// the wrong way round: AUC 0.111
	// NaN
}

func ExampleROCCurve() {
	dots := []float64{3.1, 0.2, -0.5, -4.2, 1.7, 0.9}
	anomalous := []bool{false, false, true, true, false, true}
	// One point per distinct dot product, lowest first. Each Threshold is
	// the next float64 above its dot product, so flagging the pairs below
	// it flags that dot product too.
	for _, p := range ipinsights.ROCCurve(dots, anomalous) {
		fmt.Printf("flag dot_product <= %g: %.2f of anomalies (TPR), %.2f of normal pairs (FPR)\n",
			math.Nextafter(p.Threshold, math.Inf(-1)), p.TPR, p.FPR)
	}
	// Output:
	// flag dot_product <= -Inf: 0.00 of anomalies (TPR), 0.00 of normal pairs (FPR)
	// flag dot_product <= -4.2: 0.33 of anomalies (TPR), 0.00 of normal pairs (FPR)
	// flag dot_product <= -0.5: 0.67 of anomalies (TPR), 0.00 of normal pairs (FPR)
	// flag dot_product <= 0.2: 0.67 of anomalies (TPR), 0.33 of normal pairs (FPR)
	// flag dot_product <= 0.9: 1.00 of anomalies (TPR), 0.33 of normal pairs (FPR)
	// flag dot_product <= 1.7: 1.00 of anomalies (TPR), 0.67 of normal pairs (FPR)
	// flag dot_product <= 3.1: 1.00 of anomalies (TPR), 1.00 of normal pairs (FPR)
}
