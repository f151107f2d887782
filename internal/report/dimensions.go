package report

// Dimension names: a run's results files (<dimension>.json) and manifest
// entries carry them, and every reader of a run (report, gate views, the
// seed importer) looks dimensions up by them.
const (
	DimThroughput   = "throughput"
	DimRPS          = "rps"
	DimLatency      = "latency"
	DimHubble       = "hubble"
	DimPolicy       = "policy"
	DimServiceScale = "servicescale"
	DimResources    = "resources"
	DimGate         = "gate"
)
