package tune_test

import (
	"context"
	"fmt"
	"log"
	"net/netip"

	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/ipinsights/ipinsights-go/tune"
)

func ExampleRun() {
	// 40 users, each logging in from a /16 network of its own.
	train, valid := ipinsights.NewDataset(), ipinsights.NewDataset()
	for i := range 5000 {
		d := train
		if i%7 == 0 { // a validation pair
			d = valid
		}
		d.Add(fmt.Sprintf("user%d", i%40), netip.AddrFrom4([4]byte{10, byte(i % 40), byte(i), byte(i >> 8)}))
	}

	res, err := tune.Run(context.Background(), tune.Data{Train: train, Validation: valid}, tune.Options{
		// Fixed for every trial: small tables (ipv4_hash_rows is ours).
		Static: map[string]string{"num_entity_vectors": "10000", "vector_dim": "16", "num_ip_encoder_layers": "1",
			"ipv4_hash_rows": "4096", "ipv6_hash_rows": "1024"},
		// Narrower than AMT's recommended ranges; the tunables not named
		// here keep them.
		Ranges: []tune.Range{
			{Name: "epochs", Min: 1, Max: 3}, {Name: "mini_batch_size", Min: 200, Max: 2000},
			{Name: "learning_rate", Min: 0.005, Max: 0.05}, {Name: "weight_decay", Min: 0, Max: 0.0001},
			{Name: "random_negative_sampling_rate", Min: 1, Max: 5}, {Name: "shuffled_negative_sampling_rate", Min: 0, Max: 2},
		},
		MaxJobs:  4,
		Strategy: tune.Random,
		Seed:     1,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("tuned:", res.Space.Names())
	for _, t := range res.Trials {
		fmt.Println("trial", t.Number, t.Status, "epochs", t.Hyperparameters["epochs"])
	}
	best := res.BestTrial()
	fmt.Println("best trial separates real pairs from random addresses:", best.Objective > 0.9)
	fmt.Println("its model's objective:", res.Model.DiscriminatorAUC(valid) == best.Objective)
	// Output:
	// tuned: [epochs learning_rate mini_batch_size random_negative_sampling_rate shuffled_negative_sampling_rate weight_decay]
	// trial 1 Completed epochs 2
	// trial 2 Completed epochs 3
	// trial 3 Completed epochs 2
	// trial 4 Completed epochs 2
	// best trial separates real pairs from random addresses: true
	// its model's objective: true
}
