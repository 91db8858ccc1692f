package ipinsights_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/netip"

	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// day returns the logins of one day: users first to last-1, each from its
// home network 10.u.0.0/16.
func day(first, last, seed int) *ipinsights.Dataset {
	d := ipinsights.NewDataset()
	for i := range 2000 {
		u := first + i%(last-first)
		d.Add(fmt.Sprintf("user%d", u), netip.AddrFrom4([4]byte{10, byte(u), byte(i + seed), byte(i >> 8)}))
	}
	return d
}

func ExampleTrainOptions_init() {
	cfg, err := ipinsights.ParseHyperparameters(map[string]string{
		"num_entity_vectors": "1000", "vector_dim": "16", "epochs": "3",
		"mini_batch_size": "300", "random_negative_sampling_rate": "5", "learning_rate": "0.01",
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	// Yesterday's model, kept with Adam's state.
	yesterday, err := ipinsights.Train(ctx, cfg, day(0, 40, 1), &ipinsights.TrainOptions{SaveOptimizerState: true})
	if err != nil {
		log.Fatal(err)
	}
	// Today's logins: users 20 to 49, ten of them new. The warm start takes
	// the model's hyperparameters; epochs may change, the shape may not.
	next := yesterday.Config()
	next.Epochs = 2
	today, err := ipinsights.Train(ctx, next, day(20, 50, 2), &ipinsights.TrainOptions{Init: yesterday, SaveOptimizerState: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("entities seen:", yesterday.SeenEntities(), "then", today.SeenEntities())
	home := netip.MustParseAddr("10.45.3.3")
	away := netip.MustParseAddr("192.0.2.9")
	fmt.Println("new user45 scores home above away:", today.Score("user45", home).DotProduct > today.Score("user45", away).DotProduct)
	fmt.Println("carries the optimizer state:", today.HasOptimizerState())

	bigger := next
	bigger.VectorDim = 32
	var mismatch *ipinsights.InitMismatchError
	if err := yesterday.CheckWarmStart(bigger); errors.As(err, &mismatch) {
		fmt.Println(err)
	}
	// Output:
	// entities seen: 40 then 50
	// new user45 scores home above away: true
	// carries the optimizer state: true
	// ipinsights: a warm start keeps the shape of the initial model: vector_dim is 16 in the initial model, 32 in the configuration
}
