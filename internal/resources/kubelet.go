package resources

import (
	"errors"
	"fmt"
	"io"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// ResourceMetricsPath is the kubelet's resource metrics endpoint, the one
// metrics-server scrapes: every container's cumulative CPU time and memory
// working set, read from the container's cgroup (by cAdvisor, or by the
// container runtime with PodAndContainerStatsFromCRI). Through the
// apiserver: /api/v1/nodes/<node>/proxy/metrics/resource.
const ResourceMetricsPath = "/metrics/resource"

// Container names a container in the resource metrics.
type Container struct {
	Namespace, Pod, Name string
}

// CgroupSample is one container's reading from the kubelet: cumulative CPU
// seconds and the memory working set, each with the time the kubelet read
// it (the metric's timestamp; a cached reading keeps its old one).
type CgroupSample struct {
	CPUSeconds      float64
	CPUAt           time.Time
	WorkingSetBytes float64
	MemoryAt        time.Time
}

// ErrNoNewReading: two readings carry the same timestamp, so the kubelet
// had not read the cgroup again between them (cAdvisor refreshes every
// 10-15 s): no rate can come from them.
var ErrNoNewReading = errors.New("the kubelet served the same cgroup reading twice")

// ParseResourceMetrics reads the kubelet's /metrics/resource (Prometheus
// text format) into one CgroupSample per container that has both
// container_cpu_usage_seconds_total and container_memory_working_set_bytes
// with timestamps.
func ParseResourceMetrics(r io.Reader) (map[Container]CgroupSample, error) {
	fams, err := metricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("kubelet resource metrics: %w", err)
	}
	cpu, mem := fams["container_cpu_usage_seconds_total"], fams["container_memory_working_set_bytes"]
	if cpu == nil || mem == nil {
		return nil, fmt.Errorf("kubelet resource metrics: no container_cpu_usage_seconds_total or container_memory_working_set_bytes (is this %s?)", ResourceMetricsPath)
	}
	out := map[Container]CgroupSample{}
	for _, m := range cpu.GetMetric() {
		c, at, err := keyAndTime(m)
		if err != nil {
			return nil, err
		}
		s := out[c]
		s.CPUSeconds, s.CPUAt = metricValue(m), at
		out[c] = s
	}
	for _, m := range mem.GetMetric() {
		c, at, err := keyAndTime(m)
		if err != nil {
			return nil, err
		}
		s, ok := out[c]
		if !ok {
			continue
		}
		s.WorkingSetBytes, s.MemoryAt = metricValue(m), at
		out[c] = s
	}
	for c, s := range out {
		if s.MemoryAt.IsZero() {
			delete(out, c)
		}
	}
	return out, nil
}

// metricFamilies parses the Prometheus text format. prometheus/common's
// parser (up to v0.70.1 at least) dereferences a nil metric on some
// malformed input, such as labels with no metric name after a HELP line
// ("# HELP a x\n{}"); what a node serves must give an error, not crash the
// run.
func metricFamilies(r io.Reader) (fams map[string]*dto.MetricFamily, err error) {
	defer func() {
		if p := recover(); p != nil {
			fams, err = nil, fmt.Errorf("not the Prometheus text format (the parser failed: %v)", p)
		}
	}()
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(r)
}

func metricValue(m *dto.Metric) float64 {
	if m.GetCounter() != nil {
		return m.GetCounter().GetValue()
	}
	if m.GetGauge() != nil {
		return m.GetGauge().GetValue()
	}
	return m.GetUntyped().GetValue()
}

func keyAndTime(m *dto.Metric) (Container, time.Time, error) {
	var c Container
	for _, l := range m.GetLabel() {
		switch l.GetName() {
		case "namespace":
			c.Namespace = l.GetValue()
		case "pod":
			c.Pod = l.GetValue()
		case "container":
			c.Name = l.GetValue()
		}
	}
	if c.Pod == "" || c.Name == "" {
		return c, time.Time{}, fmt.Errorf("kubelet resource metrics: a container metric without pod or container label: %v", m.GetLabel())
	}
	if m.TimestampMs == nil {
		return c, time.Time{}, fmt.Errorf("kubelet resource metrics: %s/%s %s has no timestamp: its rate cannot be computed", c.Namespace, c.Pod, c.Name)
	}
	return c, time.UnixMilli(m.GetTimestampMs()), nil
}

// CgroupMillicores is the container's CPU between two kubelet readings, in
// thousandths of a core, over the interval between the readings' own
// timestamps (the cgroup's reading times, not the requests').
func CgroupMillicores(before, after CgroupSample) (float64, error) {
	if !after.CPUAt.After(before.CPUAt) {
		return 0, fmt.Errorf("%w (both at %s)", ErrNoNewReading, after.CPUAt.Format(time.RFC3339Nano))
	}
	if after.CPUSeconds < before.CPUSeconds {
		return 0, fmt.Errorf("CPU time went backwards (%g -> %g s): the container restarted", before.CPUSeconds, after.CPUSeconds)
	}
	return (after.CPUSeconds - before.CPUSeconds) / after.CPUAt.Sub(before.CPUAt).Seconds() * 1000, nil
}
