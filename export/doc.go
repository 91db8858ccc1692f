// Package export writes the embeddings of a trained model to files that
// data scientists load in one line: NumPy .npy files (float32, C order,
// little-endian '<f4', with a sidecar list of row names) and CSV.
//
// SageMaker's IP Insights keeps its embeddings in an undocumented MXNet
// artifact, so they can only be pulled out one verbose inference request at
// a time; here a Table holds the vectors of many entities (Entities) or
// addresses (Addresses) at once, and WriteFile writes it:
//
//	t := export.Entities(model, names)
//	if err := t.CheckSeen(); err != nil { // names absent from training
//		return err
//	}
//	paths, err := t.WriteFile("entities.npy") // and entities.npy.names.txt
//
// Loading them back, in Python:
//
//	vectors = numpy.load("entities.npy")                 # shape (rows, vector_dim), float32
//	names = open("entities.npy.names.txt", encoding="utf-8").read().split("\n")[:-1]
//	table = pandas.read_csv("entities.csv", index_col=0) # the CSV form
//
// An entity that did not occur in training has no vector of its own: its
// row is that of the hash bucket it falls in, trained for other entities or
// not at all. Table.Seen tells such rows, CheckSeen refuses them, and the
// CSV form has an entity_seen column. IP vectors are the output of the IP
// encoder (prefix rows summed, then the dense layers), as in SageMaker's
// verbose responses; any valid address has one.
//
// WriteNPY writes any float32 matrix in the .npy format, version 1.0: the
// magic string "\x93NUMPY", the version, a little-endian header length, a
// header that is a Python dict literal with 'descr', 'fortran_order' and
// 'shape', padded with spaces and ended by a newline so that the data
// starts at a multiple of 64 bytes, then the data.
package export
