package synth_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/ipinsights/ipinsights-go/synth"
)

func ExampleGenerateLogins() {
	// A small version of the SageMaker tutorial's web logins; the zero
	// fields take the tutorial's values (10 days, the first 7 for training).
	logins, err := synth.GenerateLogins(synth.LoginConfig{
		Users: 100, ASNs: 10000, TestNormal: 300, TestAttacks: 300, Seed: 1,
	})
	if err != nil {
		log.Fatal(err)
	}
	kinds := map[synth.Kind]int{}
	for _, l := range logins.Test {
		kinds[l.Kind]++
	}
	fmt.Println("attack test:", len(logins.Test), "rows,", kinds[synth.Attack], "attacks")
	fmt.Println("every kind of normal row:", kinds[synth.Home] > 0 && kinds[synth.Work] > 0 && kinds[synth.Travel] > 0)
	// Travel logins come from random networks exactly as attacks do, which
	// caps the AUC that any detector can reach.
	fmt.Println("best possible AUC below 1:", logins.Ceiling() < 1)

	// The training set as entity,ip rows, SageMaker's training format.
	var buf bytes.Buffer
	if err := logins.WriteTrainCSV(&buf); err != nil {
		log.Fatal(err)
	}
	fmt.Println("one CSV row per training login:", bytes.Count(buf.Bytes(), []byte("\n")) == len(logins.Train))
	fmt.Println("user 42 is", synth.Login{User: 42}.Entity())
	// Output:
	// attack test: 600 rows, 300 attacks
	// every kind of normal row: true
	// best possible AUC below 1: true
	// one CSV row per training login: true
	// user 42 is user_42
}
