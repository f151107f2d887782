package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"kube-netbench/internal/lab/components"
	"kube-netbench/internal/scale"
)

// sideBySideServices is how many Services each method creates for the
// creation-rate comparison: four of the seed's 500-object files, fewer when
// the run's largest step is smaller (a CI-size run).
const sideBySideServices = 2000

// seedComparison creates the same number of Services with our method and
// with the seed script's (500-object YAML files, `kubectl apply` four at a
// time, Services plus v1 Endpoints), back to back on the same apiserver, and
// reports both rates. Both sets are deleted afterwards.
func (s *serviceScale) seedComparison(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	kubectl, err := kubectlPath()
	if err != nil {
		s.partSkipf(t, "the seed method needs kubectl: %v", err)
	}
	n := min(sideBySideServices, s.cfg.SvcScaleSteps[len(s.cfg.SvcScaleSteps)-1])
	plan := func(suffix string) scale.Plan {
		p := s.plan
		p.RunID, p.MaxServices, p.NamespacePrefix = s.id+"-"+suffix, n, "nb-cmp"
		return p
	}
	ours, seed := plan("ours"), plan("seed")
	for _, p := range []scale.Plan{ours, seed} {
		t.Cleanup(func() {
			if _, err := scale.Delete(context.WithoutCancel(ctx), s.creator.Client, p.RunID); err != nil {
				t.Errorf("delete the comparison's Services: %v", err)
			}
		})
	}
	p := s.progress.To(t)
	done := p.Phase("creation rate: %d Services with our method", n)
	st, err := s.creator.Grow(ctx, ours, 0, n)
	done()
	if err != nil {
		t.Fatalf("our method: %v", err)
	}
	dir := filepath.Join(t.TempDir(), "seed")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	done = p.Phase("creation rate: %d Services with the seed script's method (kubectl apply, 4 files of 500 in parallel)", n)
	sst, err := scale.SeedMethod(ctx, kubectl, s.kubeconfig, seed, 0, n, dir)
	done()
	if err != nil {
		t.Fatalf("the seed method: %v", err)
	}
	s.oursRate, s.seedRate, s.sideBySide = st.ServicesPerSec, sst.ServicesPerSec, n
	t.Logf("creating %d Services with their endpoints on the same apiserver: ours %.1f Services/s (%s), the seed's method %.1f Services/s (%s): %.1fx",
		n, st.ServicesPerSec, st.Wall.Round(time.Millisecond), sst.ServicesPerSec, sst.Wall.Round(time.Millisecond), st.ServicesPerSec/sst.ServicesPerSec)
	for _, w := range sst.Warnings {
		t.Logf("seed method: %s", w)
	}
	// The ratio is a benchmark figure (recorded in the summary); what
	// must hold on any machine, however busy, is the order of the two.
	if st.ServicesPerSec <= sst.ServicesPerSec {
		t.Errorf("our creation rate %.1f Services/s is not above the seed method's %.1f, measured back to back", st.ServicesPerSec, sst.ServicesPerSec)
	}
	return ctx
}

// kubectlPath is KUBECTL, else the lab's version-matched kubectl when the
// suite runs on the lab, else kubectl from PATH.
func kubectlPath() (string, error) {
	if k := os.Getenv("KUBECTL"); k != "" {
		return k, nil
	}
	if onLab {
		return labKubectl, nil
	}
	if c, err := components.DefaultCache(os.Getenv); err == nil {
		if k := c.Binaries().Kubectl; fileExists(k) {
			return k, nil
		}
	}
	return exec.LookPath("kubectl")
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
