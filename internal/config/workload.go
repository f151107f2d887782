package config

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Workload variables: how the pods the suite measures with are sized.
const (
	EnvWorkloadQoS    = "WORKLOAD_QOS"
	EnvWorkloadCPU    = "WORKLOAD_CPU"
	EnvWorkloadMemory = "WORKLOAD_MEMORY"
)

// Workload defaults: Guaranteed, sized so that the busiest node of any
// dimension fits the lab, whose nodes each report 2 CPUs. That node holds
// three tool containers (TestThroughput's server node: two iperf3 servers
// and the same-node client), or two tool containers with their busybox
// probes (TestLatency, TestNetworkPolicy): 3 x 600m = 1.8 CPUs and
// 2 x (600m + 50m) = 1.3 CPUs. 1 CPU each would leave those pods Pending.
const (
	DefaultWorkloadQoS    = "guaranteed"
	DefaultWorkloadCPU    = "600m"
	DefaultWorkloadMemory = "512Mi"
)

// WorkloadNone is the CPU and memory of a BestEffort workload: no
// requests, no limits.
const WorkloadNone = "none"

// Allowed sizes of a tool container. 10m is the smallest CPU quota the
// kubelet sets; below 32Mi the tools' own binaries do not fit.
var (
	MinWorkloadCPU    = resource.MustParse("10m")
	MaxWorkloadCPU    = resource.MustParse("256")
	MinWorkloadMemory = resource.MustParse("32Mi")
	MaxWorkloadMemory = resource.MustParse("1Ti")
)

// qosNames maps WORKLOAD_QOS values to QoS classes.
var qosNames = map[string]corev1.PodQOSClass{
	"guaranteed": corev1.PodQOSGuaranteed,
	"burstable":  corev1.PodQOSBurstable,
	"besteffort": corev1.PodQOSBestEffort,
}

// Workload is the effective sizing of the workload pods' tool containers.
type Workload struct {
	// QoS is the pods' QoS class: Guaranteed sets requests equal to limits,
	// Burstable sets requests and a memory limit but no CPU limit,
	// BestEffort sets nothing.
	QoS corev1.PodQOSClass
	// CPU and Memory size each tool container; zero under BestEffort.
	CPU, Memory resource.Quantity
}

// workload reads WORKLOAD_QOS, then WORKLOAD_CPU and WORKLOAD_MEMORY in its
// light: requests need a size, BestEffort has none.
func (r *reader) workload() Workload {
	qos, qosOK := r.qos(EnvWorkloadQoS)
	return Workload{
		QoS:    qos,
		CPU:    r.size(EnvWorkloadCPU, DefaultWorkloadCPU, qos, qosOK, MinWorkloadCPU, MaxWorkloadCPU, `"600m" or "2"`),
		Memory: r.size(EnvWorkloadMemory, DefaultWorkloadMemory, qos, qosOK, MinWorkloadMemory, MaxWorkloadMemory, `"512Mi" or "1Gi"`),
	}
}

// qos reads a QoS class name in any case; ok is false for an invalid one.
func (r *reader) qos(name string) (corev1.PodQOSClass, bool) {
	v, set := r.lookup(name)
	if !set {
		return qosNames[DefaultWorkloadQoS], true
	}
	if q, ok := qosNames[strings.ToLower(v)]; ok {
		return q, true
	}
	r.fail(name, v, "", "guaranteed, burstable or besteffort")
	return qosNames[DefaultWorkloadQoS], false
}

// size reads a quantity from lo to hi, or "none" under BestEffort. When the
// QoS is invalid (already reported), the value is checked on its own.
func (r *reader) size(name, def string, qos corev1.PodQOSClass, qosOK bool, lo, hi resource.Quantity, example string) resource.Quantity {
	v, set := r.lookup(name)
	bestEffort := qos == corev1.PodQOSBestEffort && qosOK
	switch {
	case bestEffort && (!set || strings.EqualFold(v, WorkloadNone)):
		return resource.Quantity{}
	case bestEffort:
		r.fail(name, v, fmt.Sprintf("%s=besteffort sets no requests or limits", EnvWorkloadQoS), WorkloadNone+", or unset")
		return resource.Quantity{}
	case !set:
		v = def
	}
	allowed := fmt.Sprintf("a quantity from %s to %s, e.g. %s (with %s=guaranteed or burstable); %s with %s=besteffort",
		lo.String(), hi.String(), example, EnvWorkloadQoS, WorkloadNone, EnvWorkloadQoS)
	if strings.EqualFold(v, WorkloadNone) {
		if qosOK {
			r.fail(name, v, fmt.Sprintf("%s=%s sets requests, which need a size", EnvWorkloadQoS, strings.ToLower(string(qos))), allowed)
		}
		return resource.Quantity{}
	}
	q, err := resource.ParseQuantity(v)
	switch {
	case err != nil:
		r.fail(name, v, "not a Kubernetes quantity", allowed)
	case q.Cmp(lo) < 0:
		problem := fmt.Sprintf("%s is below %s", q.String(), lo.String())
		if name == EnvWorkloadMemory && strings.HasSuffix(v, "m") {
			problem += ` (m is milli: a thousandth of a byte; mebibytes are Mi)`
		}
		r.fail(name, v, problem, allowed)
	case q.Cmp(hi) > 0:
		r.fail(name, v, fmt.Sprintf("%s is above %s", q.String(), hi.String()), allowed)
	default:
		return q
	}
	return resource.Quantity{}
}

// describe is the workload's settings as they would be set.
func (w Workload) describe() (qos, cpu, memory string) {
	for name, q := range qosNames {
		if q == w.QoS {
			qos = name
		}
	}
	if w.QoS == corev1.PodQOSBestEffort {
		return qos, WorkloadNone, WorkloadNone
	}
	return qos, w.CPU.String(), w.Memory.String()
}
