// Package sagemaker is the delegate mode of ipinsights-go: it runs the same
// IP Insights job on Amazon SageMaker that this project runs locally, and
// compares the scores of the two.
//
// A Client works over narrow interfaces of the aws-sdk-go-v2 SageMaker and
// S3 clients (API and S3API). Each job is prepared first, which reads and
// checks the local inputs and fixes names and S3 locations without calling
// AWS, so that the caller can show the Plan and ask for confirmation
// before anything billable exists; then it runs:
//
//	c, err := sagemaker.New(smClient, s3Client, sagemaker.Options{
//		Region: "us-east-1", RoleARN: role, Bucket: "my-bucket"})
//	tj, err := c.PrepareTraining(ctx, sagemaker.TrainingSpec{Train: "train.csv", Hyperparameters: hp})
//	xj, err := c.PrepareTransform(ctx, sagemaker.TransformSpec{Input: sagemaker.RowsFile{Path: "test.csv"}})
//	fmt.Print(c.PlanTraining(tj), c.PlanTransform(xj)) // and confirm
//	tr, err := c.RunTraining(ctx, tj)
//	xj.ModelData = tr.ModelArtifacts
//	out, err := c.RunTransform(ctx, xj) // out.Scores: SageMaker's dot products
//	report, err := sagemaker.Compare(ours, out.Scores, sagemaker.CompareOptions{})
//
// Training uses SageMaker's ipinsights image of the region (see ImageURI),
// File input mode, train and validation channels of text/csv, and the
// hyperparameters as strings: SageMaker's only, since the container
// refuses others (this project's extras such as seed stay local). Scoring
// uses batch transform, never an endpoint: a model is created for the job
// and deleted when it ends, also on failure and cancellation. A cancelled
// context stops the running job, and the reading of local files.
//
// Rows to score are a RowsFile: entity,ip and any further columns, which
// are not sent, with a header line exactly when RowsFile.Header says so (a
// header is never guessed). Training data never has one.
//
// The whole parity workflow is one call: PrepareParity reads the rows and
// prepares SageMaker's jobs; the ParityJob's Plan lists what it creates,
// and Run trains our model with the same data and hyperparameters, runs
// SageMaker's side, scores the rows on both sides and compares:
//
//	pj, err := c.PrepareParity(ctx, sagemaker.ParitySpec{
//		Rows: sagemaker.RowsFile{Path: "test_labeled.csv"}, Labeled: true,
//		Training: sagemaker.TrainingSpec{Train: "train.csv", Hyperparameters: hp}})
//	fmt.Print(pj.Plan()) // and confirm
//	res, err := pj.Run(ctx) // res.Report, res.Ours, res.SageMaker
//
// Compare reports Spearman and Kendall (tau-b) rank correlations, the
// overlap of the most anomalous rows and, with labels, both AUCs and both
// precision/recall at a threshold. CompareFiles does the same from files,
// for users who already have SageMaker outputs (batch transform .out
// files, endpoint JSON responses; see ReadSageMakerScores) and scores of
// ours (ReadOurs). Endpoint scores rows on an endpoint the user already
// runs, through the SageMaker Runtime API, creating nothing; its
// PrepareParity compares against it.
//
// # Scored CSV
//
// Our side of a parity report is a scored CSV, this implementation's file
// of scores (ScoreWriter writes it, ScoreReader and ReadOurs read it): a
// header, then one line per scored row, in input order:
//
//	entity,ip,dot_product[,entity_seen][,percentile][,alert][,extra columns...]
//
// dot_product is the score (higher is more normal), entity_seen is true or
// false (false: the entity was absent from training, and its score carries
// no information), percentile is the calibrated rank of the score (a share
// in [0, 1], low = unusual), alert is true or false, and the extra columns are the input's further columns,
// passed through, named after the input's header or col3, col4, ... by
// their position in the input. WriteScores writes SageMaker's scores in the
// same format, without entity_seen.
package sagemaker
