// Package ipinsights is a pure-Go implementation of Amazon SageMaker's IP
// Insights algorithm. It learns vector embeddings of entities (user names,
// IAM principals, account ids) and of IPv4/IPv6 addresses from observed
// (entity, IP) pairs, and scores a pair by the dot product of the two
// vectors: high means the entity usually comes from places like this, low
// means the pair is unusual.
//
// The hyperparameters keep SageMaker's names, ranges and defaults (Config,
// ParseHyperparameters); training (Train) reads a Dataset of encoded pairs,
// and the trained Model scores pairs (Score, ScoreBatch, ScoreVerbose), says
// whether an entity was seen in training, and saves to and loads from a
// versioned, checksummed binary file (Save, Load). Evaluate and AUC measure
// detection quality on labeled pairs. WithNetworkHistory adds a summary of
// where each entity comes from, which Explain and ExplainBatch use to say
// why a pair scored as it did.
//
// # From score to alert
//
// The dot product is unbounded and its scale differs between models.
// Calibrate scores normal pairs (a held-out day) and keeps their
// distribution, globally and per entity for entities with enough pairs;
// WithCalibration attaches it to a new Model (saved in the model file).
// The calibrated model ranks a pair's score as a Percentile (low means
// unusual) and turns a false-positive rate into a threshold
// (Calibration.Threshold) or an AlertRule. A model with a network history
// calibrates with it too, for the AlertByNetwork basis (pairs outside the
// entity's usual networks first, then by dot product), which AlertDefault
// picks when the model has it. With labeled pairs,
// ThresholdForRecall and ThresholdForPrecision pick a threshold that
// reaches a target.
//
// # The model
//
// An entity is hashed (embedding.EntityHash) into one of num_entity_vectors
// rows of the entity table. An address is encoded as the sum of one row per
// prefix length (IPv4 /16 and IPv6 /16, /32, /48 by default; see
// embedding.DefaultEncoderConfig for why, and the ipv4_prefix_lengths and
// ipv6_prefix_lengths hyperparameters), so that addresses in the same network
// share their vector, followed by num_ip_encoder_layers dense layers
// (ReLU between, the last linear). The score is the dot product of the entity
// vector and the IP vector: the log-odds that the pair is real rather than a
// negative sample.
//
// Training minimises binary cross-entropy over each positive pair, R random
// negatives (random addresses of the same family) and S shuffled negatives
// (the entity paired with another pair's address from the same batch), with
// Adam and lazy (row-sparse) updates of embedding rows, as SageMaker does.
// It is data-parallel over goroutines and bit-reproducible for a seed,
// whatever the number of workers.
//
// # Warm start
//
// TrainOptions.Init continues training from a saved model on new data (a
// new day of logs): the new model starts from a copy of its tables, so
// entities and networks it knew keep their vectors, and rows no new pair
// touches keep them bit for bit (updates are lazy); new entities join. It
// keeps the initial model's seen entities, adding the new data's, and its
// network history, to which WithNetworkHistory with HistoryOptions.Merge
// adds the new counts; Calibrate with CalibrationOptions.Previous
// recalibrates, keeping the distribution of the entities the new sample
// lacks. The hyperparameters that shape the tables (ShapeNames) must be
// the initial model's (Model.Config gives them; an *InitMismatchError lists
// each that differs); the others may change.
//
// TrainOptions.SaveOptimizerState keeps Adam's moments, its step count and
// the number of epochs trained in the model (the file's optional section
// "optimizer_state", twice the size of the tables). A warm start from such
// a model continues Adam, and numbers its epochs on so that its shuffles
// and negative samples are those a longer training would have drawn:
// training k epochs, then N-k from the saved model on the same data, gives
// the model of N epochs in one training, bit for bit, whatever the number
// of workers of each. Without the state Adam restarts, and its first steps,
// about LearningRate in every coordinate they touch whatever the gradient,
// shake a trained model; the README's Warm start section measures what
// that costs.
//
// # Memory
//
// A Dataset holds an IPv4 pair in 8 bytes and an IPv6 pair in 24, plus 16
// to 32 bytes per distinct entity (a dictionary of the entities' hashes, one
// per goroutine that read the file), and it grows without copying what it
// holds. Train does not copy the pairs: it shuffles their indices, another
// 4 bytes a pair, so an IPv4 pair costs 12 bytes during training. Training
// holds the parameters and, with Adam, two moments per parameter: about 12
// bytes per parameter, where the parameters are (num_entity_vectors + IP
// table rows) x vector_dim plus vector_dim^2 per dense layer. The
// seen-entity set costs 16 to 32 bytes per distinct training entity in
// memory (a hash table at most half full) and 8 in the model file; scoring
// with dense layers caches one projected row per entity bucket on first use
// (the size of the entity table). A calibration costs at most 64 KiB plus, per entity with its own
// distribution, 16 bytes and 4 per value kept (at most
// CalibrationOptions.EntityQuantiles), in memory and in the model file.
//
// # Explanations and the network history
//
// WithNetworkHistory counts, for each entity of a Dataset (normally the
// training data), its number of pairs and its usual networks with their
// pair counts: the top networks (8 by default, HistoryOptions.TopNetworks)
// at the encoder's finest IPv4 prefix length and at /16, and at the
// encoder's finest IPv6 prefix length capped at /64. Entities are keyed by
// their full 64-bit hash, not by their shared entity-table bucket. Explain
// (and ExplainBatch, ExplainTuples) returns a pair's score with its
// Explanation: whether the address's network is one of the entity's usual
// ones, the usual networks with their counts, and the one whose IP
// embedding is nearest to the address's (by cosine similarity).
//
// Privacy: a model with a network history, and the file Save writes of it
// (the optional section "network_history"), holds a summary of where each
// person logs in from: their networks and how often they used them. A model
// without one holds no such list. WithoutNetworkHistory removes it before a
// model is shared.
//
// Cost: in the model file about 8 bytes of entity hash, 2 or 3 bytes of
// counts and 4 to 6 bytes per network (the prefix and its count as
// varints: 3 to 4 bytes for an IPv4 /16 or /24, up to 7 for an IPv6 /48),
// so up to about 50 bytes for an entity seen in 8 or more IPv4 /16 networks,
// and 100 with the /24 and /16 levels of ipv4_prefix_lengths=16,24. In memory, 32 bytes
// per entity and 16 per network; the first explanation adds 4 bytes per
// network and the unit-length IP embedding (4 x vector_dim bytes) of each
// distinct network of the finest levels, at most 512 MiB in all (beyond that
// the embeddings are recomputed per explanation). Counting holds, per entity
// and level, a Space-Saving sketch of up to 4 x TopNetworks counters of 16
// bytes, and about 150 bytes per entity besides.
package ipinsights
