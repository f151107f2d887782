package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"time"

	"kube-netbench/internal/stats"
)

// Schema is the value of the JSON summary's "schema" field. A change that
// would make an old reader misread a file gets a new version.
const Schema = "kube-netbench/report/v1"

// WriteJSON writes run as an indented JSON summary. The output is stable:
// fields in a fixed order, map keys sorted, times in UTC, every field
// present (empty lists as [], empty maps as {}), so summaries diff cleanly
// and golden tests hold. The schema (kube-netbench/report/v1):
//
//	{
//	  "schema": "kube-netbench/report/v1",
//	  "id": string,                    // run ID, the run-ID label value
//	  "started": RFC 3339 time,
//	  "finished": RFC 3339 time | null, // null: the run did not finish
//	  "fingerprint": {
//	    "dataplane", "dataplaneVersion", "kubeProxyMode",
//	    "kubernetesVersion", "kernel": string ("" if unknown or none),
//	    "nodes": [{"name", "role", "instanceType", "kernel": string}],
//	    "tools": [{"name", "image", "version": string}],
//	    "config": {string: string},    // effective configuration
//	    "extra": {string: string}
//	  },
//	  "scenarios": [{"name", "status", "message": string}],
//	                                   // status: passed|failed|skipped|error
//	  "results": [{
//	    "name": string,                // e.g. "ServiceScale"
//	    "keys": [{"key", "value": string}], // ordered, as in the benchmark name
//	    "metrics": [{
//	      "unit": string,              // req/s, sec, bits/s, B, p99-sec, ...
//	      "better": "higher" | "lower",
//	      "samples": [number],         // every per-round value, in order
//	      "summary": {
//	        "n": int,
//	        "center": number,          // median
//	        "lo", "hi": number | null, // confidence interval; null: unbounded
//	        "confidence": number,      // actual level of [lo, hi], e.g. 0.979
//	        "warnings": [string]       // e.g. "need >= 6 samples for ..."
//	      }
//	    }],
//	    "raw": any                     // optional raw tool output or paths
//	  }]
//	}
//
// The run is validated first (Run.Validate); nothing is written if it is
// invalid.
func WriteJSON(w io.Writer, run Run) error {
	if err := run.Validate(); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	if err := encode(w, toJSON(run)); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}

// encode writes v as indented JSON, HTML characters as they are.
func encode(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// decodeSchema decodes one value of type T (decode) whose schema field is
// want.
func decodeSchema[T any](r io.Reader, want string, schema func(T) string) (T, error) {
	var v T
	if err := decode(r, &v); err != nil {
		return v, err
	}
	if got := schema(v); got != want {
		return v, fmt.Errorf("schema %q, this reader understands %q", got, want)
	}
	return v, nil
}

// decode reads exactly one JSON value into v: unknown fields and trailing
// data are errors.
func decode(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("data after the JSON value")
	}
	return nil
}

// ReadJSON reads a summary written by WriteJSON. Unknown fields, another
// schema version, trailing data and a run that does not validate are
// errors.
func ReadJSON(r io.Reader) (Run, error) {
	j, err := decodeSchema[jsonRun](r, Schema, func(j jsonRun) string { return j.Schema })
	if err != nil {
		return Run{}, fmt.Errorf("read JSON: %w", err)
	}
	run := fromJSON(j)
	if err := run.Validate(); err != nil {
		return Run{}, fmt.Errorf("read JSON: %w", err)
	}
	return run, nil
}

// jsonHead is what a run's summary and its manifest both start with.
type jsonHead struct {
	Schema      string          `json:"schema"`
	ID          string          `json:"id"`
	Started     time.Time       `json:"started"`
	Finished    *time.Time      `json:"finished"`
	Fingerprint jsonFingerprint `json:"fingerprint"`
}

// newHead is the head of a file of schema: times in UTC, a zero end as null.
func newHead(schema, id string, started, finished time.Time, fp Fingerprint) jsonHead {
	h := jsonHead{Schema: schema, ID: id, Started: started.UTC(), Fingerprint: fingerprintToJSON(fp)}
	if !finished.IsZero() {
		f := finished.UTC()
		h.Finished = &f
	}
	return h
}

type jsonRun struct {
	jsonHead
	Scenarios []jsonScenario `json:"scenarios"`
	Results   []jsonResult   `json:"results"`
}

type jsonFingerprint struct {
	Dataplane         string            `json:"dataplane"`
	DataplaneVersion  string            `json:"dataplaneVersion"`
	KubeProxyMode     string            `json:"kubeProxyMode"`
	KubernetesVersion string            `json:"kubernetesVersion"`
	Kernel            string            `json:"kernel"`
	Nodes             []jsonNode        `json:"nodes"`
	Tools             []jsonTool        `json:"tools"`
	Config            map[string]string `json:"config"`
	Extra             map[string]string `json:"extra"`
}

type jsonNode struct {
	Name         string `json:"name"`
	Role         string `json:"role"`
	InstanceType string `json:"instanceType"`
	Kernel       string `json:"kernel"`
}

type jsonTool struct {
	Name    string `json:"name"`
	Image   string `json:"image"`
	Version string `json:"version"`
	ImageID string `json:"imageID,omitempty"`
}

type jsonScenario struct {
	Name    string `json:"name"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

type jsonResult struct {
	Name     string          `json:"name"`
	Keys     []jsonKV        `json:"keys"`
	Metrics  []jsonMetric    `json:"metrics"`
	Raw      json.RawMessage `json:"raw,omitempty"`
	Failures []jsonFailure   `json:"failures,omitempty"`
}

type jsonFailure struct {
	Round  int    `json:"round"`
	Reason string `json:"reason"`
}

type jsonKV struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type jsonMetric struct {
	Unit    string      `json:"unit"`
	Better  string      `json:"better"`
	Samples []float64   `json:"samples"`
	Summary jsonSummary `json:"summary"`
}

type jsonSummary struct {
	N          int      `json:"n"`
	Center     float64  `json:"center"`
	Lo         *float64 `json:"lo"`
	Hi         *float64 `json:"hi"`
	Confidence float64  `json:"confidence"`
	Warnings   []string `json:"warnings"`
}

func toJSON(run Run) jsonRun {
	j := jsonRun{
		jsonHead:  newHead(Schema, run.ID, run.Started, run.Finished, run.Fingerprint),
		Scenarios: []jsonScenario{},
		Results:   []jsonResult{},
	}
	for _, s := range run.Scenarios {
		j.Scenarios = append(j.Scenarios, jsonScenario(s))
	}
	for _, res := range run.Results {
		j.Results = append(j.Results, jsonResult{Name: res.Name, Raw: compact(res.Raw),
			// [], not null, when empty, as everywhere in the summary.
			Keys:     append([]jsonKV{}, convertAll(res.Keys, func(kv KV) jsonKV { return jsonKV(kv) })...),
			Metrics:  append([]jsonMetric{}, convertAll(res.Metrics, metricToJSON)...),
			Failures: convertAll(res.Failures, func(f Failure) jsonFailure { return jsonFailure(f) })})
	}
	return j
}

func metricToJSON(m Metric) jsonMetric {
	s := m.Summary
	return jsonMetric{Unit: m.Unit, Better: m.Better, Samples: append([]float64{}, m.Samples...),
		Summary: jsonSummary{N: s.N, Center: s.Center, Lo: finite(s.Lo), Hi: finite(s.Hi),
			Confidence: s.Confidence, Warnings: append([]string{}, s.Warnings...)}}
}

func fromJSON(j jsonRun) Run {
	run := Run{ID: j.ID, Started: j.Started}
	if j.Finished != nil {
		run.Finished = *j.Finished
	}
	run.Fingerprint = fingerprintFromJSON(j.Fingerprint)
	for _, s := range j.Scenarios {
		run.Scenarios = append(run.Scenarios, ScenarioStatus(s))
	}
	for _, jr := range j.Results {
		res := Result{Name: jr.Name, Raw: compact(jr.Raw),
			Keys:     convertAll(jr.Keys, func(kv jsonKV) KV { return KV(kv) }),
			Metrics:  convertAll(jr.Metrics, metricFromJSON),
			Failures: convertAll(jr.Failures, func(f jsonFailure) Failure { return Failure(f) })}
		if bytes.Equal(bytes.TrimSpace(res.Raw), []byte("null")) {
			res.Raw = nil // "raw": null means none, as when it is left out
		}
		run.Results = append(run.Results, res)
	}
	return run
}

func metricFromJSON(jm jsonMetric) Metric {
	s := jm.Summary
	return Metric{Unit: jm.Unit, Better: jm.Better, Samples: jm.Samples,
		Summary: stats.Summary{N: s.N, Center: s.Center, Lo: orInf(s.Lo, -1), Hi: orInf(s.Hi, 1),
			Confidence: s.Confidence, Warnings: append([]string(nil), s.Warnings...)}}
}

func fingerprintToJSON(fp Fingerprint) jsonFingerprint {
	return jsonFingerprint{
		Dataplane:         fp.Dataplane,
		DataplaneVersion:  fp.DataplaneVersion,
		KubeProxyMode:     fp.KubeProxyMode,
		KubernetesVersion: fp.KubernetesVersion,
		Kernel:            fp.Kernel,
		// [], not null, when empty: readers iterate without a check.
		Nodes:  append([]jsonNode{}, convertAll(fp.Nodes, func(n Node) jsonNode { return jsonNode(n) })...),
		Tools:  append([]jsonTool{}, convertAll(fp.Tools, func(t Tool) jsonTool { return jsonTool(t) })...),
		Config: nonNil(fp.Config),
		Extra:  nonNil(fp.Extra),
	}
}

func fingerprintFromJSON(j jsonFingerprint) Fingerprint {
	return Fingerprint{
		Dataplane:         j.Dataplane,
		DataplaneVersion:  j.DataplaneVersion,
		KubeProxyMode:     j.KubeProxyMode,
		KubernetesVersion: j.KubernetesVersion,
		Kernel:            j.Kernel,
		Config:            nilIfEmpty(j.Config),
		Extra:             nilIfEmpty(j.Extra),
		Nodes:             convertAll(j.Nodes, func(n jsonNode) Node { return Node(n) }),
		Tools:             convertAll(j.Tools, func(t jsonTool) Tool { return Tool(t) }),
	}
}

// convertAll converts each element; nil for an empty input.
func convertAll[T, U any](in []T, conv func(T) U) []U {
	if len(in) == 0 {
		return nil
	}
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = conv(v)
	}
	return out
}

// finite maps an infinite interval bound, which JSON cannot encode, to null.
func finite(x float64) *float64 {
	if math.IsInf(x, 0) {
		return nil
	}
	return &x
}

// orInf maps null back to the infinite bound it stands for.
func orInf(x *float64, sign int) float64 {
	if x == nil {
		return math.Inf(sign)
	}
	return *x
}

// nilIfEmpty and the appends of fromJSON read an empty list or map as nil,
// as Go code builds a Run, so that what was written reads back equal.
func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// compact makes raw JSON independent of formatting: the writer's caller's,
// or the indentation of a summary being read.
func compact(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw
	}
	return b.Bytes()
}
