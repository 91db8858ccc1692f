package ipinsights_test

import (
	"context"
	"fmt"
	"log"
	"net/netip"

	"github.com/ipinsights/ipinsights-go/ipinsights"
)

func ExampleModel_Explain() {
	// user7 logs in from its home network 10.7.0.0/16 and, one time in
	// three, from its office 172.7.0.0/16 (as in ExampleTrain).
	data := ipinsights.NewDataset()
	for i := range 4000 {
		u, first := i%40, byte(10)
		if i%3 == 0 {
			first = 172
		}
		data.Add(fmt.Sprintf("user%d", u), netip.AddrFrom4([4]byte{first, byte(u), byte(i), byte(i >> 8)}))
	}
	cfg, err := ipinsights.ParseHyperparameters(map[string]string{
		"num_entity_vectors": "1000", "vector_dim": "16", "epochs": "5",
		"mini_batch_size": "300", "random_negative_sampling_rate": "5", "learning_rate": "0.01",
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	model, err := ipinsights.Train(ctx, cfg, data, nil)
	if err != nil {
		log.Fatal(err)
	}
	// The history of where each user comes from, counted from the
	// training data; SaveFile would keep it in the model file.
	model, err = model.WithNetworkHistory(ctx, data, nil)
	if err != nil {
		log.Fatal(err)
	}

	usual := model.Explain("user7", netip.MustParseAddr("10.7.200.1"))
	fmt.Println("training pairs:", usual.EntityPairs)
	fmt.Println("usual networks:", usual.UsualNetworks)
	fmt.Println("network:", usual.Network, "seen:", usual.NetworkSeen, "pairs:", usual.NetworkPairs)

	odd := model.Explain("user7", netip.MustParseAddr("10.9.0.1"))
	fmt.Println("network:", odd.Network, "seen:", odd.NetworkSeen)
	fmt.Println("scores lower:", odd.DotProduct < usual.DotProduct)
	// Output:
	// training pairs: 100
	// usual networks: 10.7.0.0/16 67; 172.7.0.0/16 33
	// network: 10.7.0.0/16 seen: true pairs: 67
	// network: 10.9.0.0/16 seen: false
	// scores lower: true
}
