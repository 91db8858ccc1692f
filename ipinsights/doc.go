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
// detection quality on labeled pairs.
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
// (the size of the entity table).
package ipinsights
