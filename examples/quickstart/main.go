// Command quickstart trains an IP Insights model on a small generated data
// set and scores a few pairs: normal logins, a user from an unusual network,
// and a user the model never saw.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"log"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/ipinsights/ipinsights-go/ipinsights"
)

func main() {
	// 500 users; each logs in from a home and a work network (/16s drawn
	// from 300 networks shared by everybody).
	r := rand.New(rand.NewPCG(1, 2))
	networks := make([][2]byte, 300)
	for i := range networks {
		networks[i] = [2]byte{byte(1 + r.IntN(222)), byte(r.IntN(256))}
	}
	type user struct{ home, work [2]byte }
	users := make([]user, 500)
	for i := range users {
		users[i] = user{networks[r.IntN(300)], networks[r.IntN(300)]}
	}
	login := func(u int) netip.Addr {
		n := users[u].home
		if r.IntN(3) == 0 {
			n = users[u].work
		}
		return netip.AddrFrom4([4]byte{n[0], n[1], byte(r.IntN(256)), byte(r.IntN(256))})
	}
	train, valid := ipinsights.NewDataset(), ipinsights.NewDataset()
	for i := 0; i < 50000; i++ {
		u := r.IntN(len(users))
		train.Add(fmt.Sprintf("user%03d", u), login(u))
	}
	for i := 0; i < 2000; i++ {
		u := r.IntN(len(users))
		valid.Add(fmt.Sprintf("user%03d", u), login(u))
	}

	// SageMaker's hyperparameter names and string values.
	cfg, err := ipinsights.ParseHyperparameters(map[string]string{
		"num_entity_vectors":             "1000",
		"vector_dim":                     "32",
		"epochs":                         "4",
		"mini_batch_size":                "1000",
		"random_negative_sampling_rate":  "5",
		"learning_rate":                  "0.01",
		"batch_metrics_publish_interval": "100",
	})
	if err != nil {
		log.Fatal(err)
	}
	start := time.Now()
	model, err := ipinsights.Train(context.Background(), cfg, train, &ipinsights.TrainOptions{
		Validation: valid,
		Progress: ipinsights.ProgressFunc(func(m ipinsights.Metrics) {
			if m.EpochEnd {
				fmt.Printf("epoch %d: cross-entropy %.4f, accuracy %.4f, validation AUC %.4f, %.0f samples/s\n",
					m.Epoch, m.CrossEntropy, m.Accuracy, m.ValidationAUC, m.SamplesPerSecond)
			}
		}),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("trained on %d pairs in %s\n\n", train.Len(), time.Since(start).Round(time.Millisecond))

	u := users[7]
	pairs := []ipinsights.Pair{
		{Entity: "user007", IP: netip.AddrFrom4([4]byte{u.home[0], u.home[1], 10, 20})},
		{Entity: "user007", IP: netip.AddrFrom4([4]byte{u.work[0], u.work[1], 99, 1})},
		{Entity: "user007", IP: netip.MustParseAddr("203.0.113.50")},
		{Entity: "mallory", IP: netip.AddrFrom4([4]byte{u.home[0], u.home[1], 10, 20})},
	}
	fmt.Printf("%-10s %-16s %11s  %s\n", "entity", "ip", "dot_product", "entity seen")
	for i, res := range model.ScoreBatch(nil, pairs) {
		fmt.Printf("%-10s %-16s %11.3f  %v\n", pairs[i].Entity, pairs[i].IP, res.DotProduct, res.EntitySeen)
	}
	fmt.Println("\nHigher is more normal; an unseen entity's score carries no information.")
}
