package ipinsights_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"net/netip"

	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// logins returns n pairs of 40 users: user u logs in from its home
// network 10.u.0.0/16 and, one time in three, from its office
// 172.u.0.0/16. offset varies the addresses.
func logins(n, offset int) *ipinsights.Dataset {
	data := ipinsights.NewDataset()
	for i := range n {
		u, first := i%40, byte(10)
		if i%3 == 0 {
			first = 172
		}
		j := i + offset
		data.Add(fmt.Sprintf("user%d", u), netip.AddrFrom4([4]byte{first, byte(u), byte(j), byte(j >> 8)}))
	}
	return data
}

func ExampleModel_Calibrate() {
	ctx := context.Background()
	cfg, err := ipinsights.ParseHyperparameters(map[string]string{
		"num_entity_vectors": "1000", "vector_dim": "16", "epochs": "5",
		"mini_batch_size": "300", "random_negative_sampling_rate": "5", "learning_rate": "0.01",
	})
	if err != nil {
		log.Fatal(err)
	}
	model, err := ipinsights.Train(ctx, cfg, logins(4000, 0), nil)
	if err != nil {
		log.Fatal(err)
	}

	// Calibrate on held-out normal traffic (here: other logins of the
	// same users), then attach the calibration: WithCalibration returns a
	// new Model that shares the tables, so a model in use never changes.
	cal, err := model.Calibrate(ctx, logins(2000, 4000), nil)
	if err != nil {
		log.Fatal(err)
	}
	model = model.WithCalibration(cal)
	fmt.Println("calibration pairs:", cal.Pairs())
	fmt.Println("entities ranked against their own pairs:", cal.Entities())

	home, err := model.Percentile("user7", netip.MustParseAddr("10.7.1.2"))
	if err != nil {
		log.Fatal(err)
	}
	away, err := model.Percentile("user7", netip.MustParseAddr("203.0.113.9"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("home is usual:", home.Value > 0.1, "away is unusual:", away.Value < 0.01)

	// Alert on 1% of normal pairs (AlertDefault: pairs outside the
	// entity's usual networks first when the model has a network history,
	// as it has not here, else on the global dot-product threshold), or
	// each entity on its own pairs.
	rule, err := model.AlertRule(0.01, ipinsights.AlertDefault)
	if err != nil {
		log.Fatal(err)
	}
	awayAddr := netip.MustParseAddr("203.0.113.9")
	awayScore := model.Score("user7", awayAddr)
	fmt.Println("away alerts:", rule.AlertTuple(embedding.NewTuple("user7", awayAddr), awayScore.DotProduct))

	// The calibration is saved with the model.
	var buf bytes.Buffer
	if err := model.Save(&buf); err != nil {
		log.Fatal(err)
	}
	back, err := ipinsights.Load(&buf)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("calibrated after Load:", back.Calibration() != nil)
	// Output:
	// calibration pairs: 2000
	// entities ranked against their own pairs: 40
	// home is usual: true away is unusual: true
	// away alerts: true
	// calibrated after Load: true
}

func ExampleThresholdForRecall() {
	// Dot products of labeled pairs (true: an attack).
	dots := []float64{-6, -4.5, -3, -1, 0.5, 2, 3, 4}
	attack := []bool{true, true, false, true, false, false, false, false}
	ev, err := ipinsights.ThresholdForRecall(dots, attack, 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("flag dot_product < %g: recall %.2f, precision %.2f\n", ev.Threshold, ev.Recall, ev.Precision)
	ev, err = ipinsights.ThresholdForPrecision(dots, attack, 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("flag dot_product < %g: recall %.2f, precision %.2f\n", ev.Threshold, ev.Recall, ev.Precision)
	// Output:
	// flag dot_product < -0.25: recall 1.00, precision 0.75
	// flag dot_product < -3.75: recall 0.67, precision 1.00
}
