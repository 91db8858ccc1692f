// Package tune searches hyperparameters of IP Insights models as SageMaker's
// automatic model tuning (AMT) does, locally: it trains one model per
// trial and maximises an objective over AMT's recommended ranges for IP
// Insights (DefaultRanges), or narrower ones.
//
//	res, err := tune.Run(ctx, tune.Data{Train: train, Validation: valid}, tune.Options{
//		Static:  map[string]string{"vector_dim": "128"}, // fixed; the other tunables are tuned
//		Ranges:  []tune.Range{{Name: "epochs", Min: 1, Max: 10}},
//		MaxJobs: 20, Strategy: tune.Bayesian, Seed: 1, EarlyStopping: true,
//	})
//	best := res.BestHyperparameters() // a map for ipinsights.ParseHyperparameters
//	err = res.Model.SaveFile("best.bin")
//
// The objective is validation:discriminator_auc, as AMT's for IP Insights
// (DiscriminatorAUC), or the AUC on labeled attacks (AttackAUC). The first
// measures how well a model tells the validation pairs from random
// addresses, not from attacks: it rewards models that learn the data's
// networks, which is what AMT can measure without labels.
//
// The strategies are AMT's: Bayesian (a Gaussian process with expected
// improvement), Random and Hyperband (asynchronous successive halving over
// epochs). Early stopping is AMT's median rule. Trials run one after the
// other, each training on every CPU, and every random choice comes from the
// seed: the same seed, data and options give the same trials and the same
// best model, on any machine (unless a run time limit cuts trials short).
//
// A Space (NewSpace) is the static hyperparameters and the tuned ranges;
// package sagemaker sends the same Space to SageMaker as a hyperparameter
// tuning job.
package tune
