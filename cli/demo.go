package cli

// DemoCmd builds a demo cloud.
type DemoCmd struct {
	DataDir   string `name:"data-dir" default:"./cloudmeter-demo" help:"Data directory to create (must not exist yet, or be empty)."`
	Resources int    `default:"300" help:"How many resources to generate beside the seed example."`
	Seed      int64  `default:"1" help:"Random seed of the generated cloud (the same seed gives the same cloud)."`
}

// BenchCmd runs the benchmarks.
type BenchCmd struct {
	Events    int `default:"100000" help:"Events to ingest through the HTTP API, in batches of --batch."`
	Batch     int `default:"1000" help:"Events per request."`
	Resources int `default:"10000" help:"Resources of the one user whose month is reported."`
	Reports   int `default:"20" help:"How many times to build the report."`
}
