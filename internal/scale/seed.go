package scale

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"kube-netbench/fixtures"
)

// The seed script's creation method (seed-script-spec §9.2).
const (
	// SeedBatchSize is the number of Services, each with its Endpoints, per
	// file.
	SeedBatchSize = 500
	// SeedParallel is the number of concurrent `kubectl apply` (the seed's
	// SVC_CREATE_PARALLEL, xargs -P4).
	SeedParallel = 4
	// seedWaitDelay is how long a cancelled kubectl may take to exit after
	// it is killed before its pipes are closed.
	seedWaitDelay = 5 * time.Second
)

// SeedFile is one generated file of the seed method.
type SeedFile struct {
	// Name is the file's base name: namespaces.yaml or batch_NNNN.yaml.
	Name string
	// Services is the number of Services (and of Endpoints) in it.
	Services int
	// Data is the YAML, documents separated by "---".
	Data []byte
}

// SeedFiles generates the seed method's files for Services [from, to) of p:
// a file with the namespaces they need (labelled with the run), then batch
// files of SeedBatchSize Services, each followed by its core/v1 Endpoints,
// shaped as the seed made them (§9.2: no selector, no type, one port) but
// with the run's names, namespaces, labels and dummy addresses, so that
// Delete removes them and no address leaves the benchmarking range. It is
// pure.
func SeedFiles(p Plan, from, to int) (namespaces SeedFile, batches []SeedFile, err error) {
	if err := p.checkRange(from, to); err != nil {
		return SeedFile{}, nil, err
	}
	var docs [][]byte
	for _, name := range p.namespaces(from, to) {
		ns := fixtures.Namespace(name, p.RunID, fixtures.PodSecurityRestricted)
		ns.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}
		b, err := yaml.Marshal(ns)
		if err != nil {
			return SeedFile{}, nil, fmt.Errorf("seed namespace %s: %w", name, err)
		}
		docs = append(docs, b)
	}
	namespaces = SeedFile{Name: "namespaces.yaml", Data: joinDocs(docs)}
	for lo := from; lo < to; lo += SeedBatchSize {
		hi := min(lo+SeedBatchSize, to)
		docs = docs[:0]
		for i := lo; i < hi; i++ {
			svc, ep, err := p.seedObjects(i)
			if err != nil {
				return SeedFile{}, nil, err
			}
			docs = append(docs, svc, ep)
		}
		batches = append(batches, SeedFile{
			Name: fmt.Sprintf("batch_%04d.yaml", len(batches)), Services: hi - lo, Data: joinDocs(docs),
		})
	}
	return namespaces, batches, nil
}

// seedObjects are the YAML of the seed's Service i and its Endpoints.
func (p Plan) seedObjects(i int) (svc, ep []byte, err error) {
	addrs, err := p.addrs(i)
	if err != nil {
		return nil, nil, err
	}
	meta := metav1.ObjectMeta{Name: ServiceName(i), Namespace: p.Namespace(i), Labels: Labels(p.RunID)}
	s := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: meta,
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{
			Port: p.Port, TargetPort: intstr.FromInt32(p.Port), Protocol: corev1.ProtocolTCP,
		}}},
	}
	e := &corev1.Endpoints{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Endpoints"}, ObjectMeta: meta, Subsets: []corev1.EndpointSubset{{
		Ports: []corev1.EndpointPort{{Port: p.Port, Protocol: corev1.ProtocolTCP}},
	}}}
	for _, a := range addrs {
		e.Subsets[0].Addresses = append(e.Subsets[0].Addresses, corev1.EndpointAddress{IP: a.String()})
	}
	if svc, err = yaml.Marshal(s); err != nil {
		return nil, nil, fmt.Errorf("seed Service %d: %w", i, err)
	}
	if ep, err = yaml.Marshal(e); err != nil {
		return nil, nil, fmt.Errorf("seed Endpoints %d: %w", i, err)
	}
	return svc, ep, nil
}

func joinDocs(docs [][]byte) []byte {
	return bytes.Join(docs, []byte("---\n"))
}

// seedArgv is the command line of one apply, as the seed ran it, with the
// kubeconfig named (left out when empty, so KUBECONFIG applies).
func seedArgv(kubeconfig, file string) []string {
	argv := []string{"apply", "--validate=false", "-f", file}
	if kubeconfig != "" {
		argv = append([]string{"--kubeconfig", kubeconfig}, argv...)
	}
	return argv
}

// SeedMethod creates Services [from, to) of p the way the seed script did,
// for "our creation rate next to the seed method's, on the same apiserver":
// it writes SeedFiles into dir (kept as the run's raw data), applies the
// namespaces, then runs `kubectl apply --validate=false -f <batch>`
// SeedParallel at a time. Unlike the seed, every exit code, every stderr
// line and kubectl's per-object report are checked (W-BUG-5): a batch that
// fails, prints an error, or does not report every one of its objects as
// created or unchanged is an error, and its unconfirmed Services count as
// Failed. kubectl's warnings (v1 Endpoints is deprecated since 1.33) are
// collected into Stats.Warnings with their count. Stats.Slices counts the
// core/v1 Endpoints created. Wall time covers the namespaces and all batches.
func SeedMethod(ctx context.Context, kubectl, kubeconfig string, p Plan, from, to int, dir string) (Stats, error) {
	nsFile, batches, err := SeedFiles(p, from, to)
	if err != nil {
		return Stats{}, err
	}
	if kubectl == "" {
		return Stats{}, errors.New("seed method: empty kubectl path")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Stats{}, fmt.Errorf("seed method: %w", err)
	}
	for _, f := range append([]SeedFile{nsFile}, batches...) {
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
			return Stats{}, fmt.Errorf("seed method: %w", err)
		}
	}
	what := fmt.Sprintf("seed method, run %s, Services [%d, %d)", p.RunID, from, to)

	start := time.Now()
	sr := &seedRun{kubectl: kubectl, kubeconfig: kubeconfig, dir: dir, warnings: map[string]int{}}
	if err := sr.apply(ctx, nsFile); err != nil {
		return sr.stats(start), fmt.Errorf("%s: %w", what, err)
	}
	jobs := make(chan SeedFile)
	go func() {
		defer close(jobs)
		for _, b := range batches {
			select {
			case jobs <- b:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range SeedParallel {
		wg.Go(func() {
			for b := range jobs {
				if ctx.Err() != nil {
					continue
				}
				if err := sr.apply(ctx, b); err != nil && ctx.Err() == nil {
					sr.fail(err)
				}
			}
		})
	}
	wg.Wait()
	s := sr.stats(start)
	errs := []error{joinFirst(fmt.Sprintf("%s: %d of %d batch files failed (%d Services unconfirmed)",
		what, sr.failedFiles, len(batches), s.Failed), sr.failedFiles, sr.first)}
	if ctx.Err() != nil {
		errs = append(errs, fmt.Errorf("%s: %w after %d Services", what, context.Cause(ctx), s.Services+s.Existing))
	}
	return s, errors.Join(errs...)
}

// seedRun is the shared state of one SeedMethod.
type seedRun struct {
	kubectl, kubeconfig, dir string

	mu          sync.Mutex
	s           Stats
	batchLat    []time.Duration
	warnings    map[string]int
	failedFiles int
	first       []error
}

func (r *seedRun) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failedFiles++
	if len(r.first) < maxReported {
		r.first = append(r.first, err)
	}
}

func (r *seedRun) stats(start time.Time) Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.s
	s.Wall = time.Since(start)
	s.ServicesPerSec = rate(s.Services, s.Wall)
	s.BatchLatency = summarize(slices.Clone(r.batchLat))
	for msg, n := range r.warnings {
		s.Warnings = append(s.Warnings, fmt.Sprintf("kubectl: %s (x%d)", msg, n))
	}
	slices.Sort(s.Warnings)
	return s
}

// apply runs kubectl apply on one file and accounts for what it reports.
func (r *seedRun) apply(ctx context.Context, f SeedFile) error {
	path := filepath.Join(r.dir, f.Name)
	cmd := exec.CommandContext(ctx, r.kubectl, seedArgv(r.kubeconfig, path)...)
	// kubectl caches API discovery under ~/.kube/cache by default: keep it
	// in the run's directory so the comparison leaves nothing in $HOME.
	cmd.Env = append(os.Environ(), "KUBECACHEDIR="+filepath.Join(r.dir, ".kubectl-cache"))
	cmd.WaitDelay = seedWaitDelay
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	began := time.Now()
	runErr := cmd.Run()
	took := time.Since(began)
	rep := parseApply(stdout.String(), stderr.String())

	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range rep.warnings {
		r.warnings[w]++
	}
	if f.Services > 0 {
		r.batchLat = append(r.batchLat, took)
	}
	r.s.Services += rep.created["service"]
	r.s.Slices += rep.created["endpoints"]
	r.s.Namespaces += rep.created["namespace"]
	r.s.Existing += rep.existing["service"] + rep.existing["endpoints"]
	okSvc := rep.created["service"] + rep.existing["service"]
	okEp := rep.created["endpoints"] + rep.existing["endpoints"]

	if ctx.Err() != nil {
		return fmt.Errorf("kubectl %s: %w", strings.Join(seedArgv(r.kubeconfig, path), " "), context.Cause(ctx))
	}
	var problems []string
	if runErr != nil {
		problems = append(problems, runErr.Error())
	}
	problems = append(problems, rep.problems...)
	if okSvc != f.Services || okEp != f.Services {
		problems = append(problems, fmt.Sprintf("kubectl reported %d Services and %d Endpoints created or unchanged, want %d each",
			okSvc, okEp, f.Services))
	}
	if len(problems) == 0 {
		return nil
	}
	r.s.Failed += max(f.Services-okSvc, 0)
	if len(problems) > maxReported {
		problems = append(problems[:maxReported], fmt.Sprintf("and %d more lines", len(problems)-maxReported))
	}
	return fmt.Errorf("kubectl %s: %s", strings.Join(seedArgv(r.kubeconfig, path), " "), strings.Join(problems, "; "))
}

// applyReport is what `kubectl apply` said about one file.
type applyReport struct {
	// created and existing count objects by resource ("service",
	// "endpoints", "namespace"): "created", and "unchanged" or "configured".
	created, existing map[string]int
	// warnings are stderr lines starting "Warning: ", without the prefix.
	warnings []string
	// problems are all other stdout and stderr lines that are not empty.
	problems []string
}

// parseApply reads kubectl apply's output: one "<resource>/<name> <verb>"
// line per object on stdout, warnings and errors on stderr.
func parseApply(stdout, stderr string) applyReport {
	rep := applyReport{created: map[string]int{}, existing: map[string]int{}}
	for _, line := range strings.Split(stdout, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		obj, verb, ok := strings.Cut(line, " ")
		resource, _, hasSlash := strings.Cut(obj, "/")
		switch {
		case ok && hasSlash && verb == "created":
			rep.created[resource]++
		case ok && hasSlash && (verb == "unchanged" || verb == "configured"):
			rep.existing[resource]++
		default:
			rep.problems = append(rep.problems, "stdout: "+line)
		}
	}
	for _, line := range strings.Split(stderr, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case strings.HasPrefix(line, "Warning: "):
			rep.warnings = append(rep.warnings, strings.TrimPrefix(line, "Warning: "))
		default:
			rep.problems = append(rep.problems, "stderr: "+line)
		}
	}
	return rep
}
