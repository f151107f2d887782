package suiteconfig

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"

	"kube-netbench/fixtures"
)

// allowedImage is what an image variable may be.
const allowedImage = "an image reference pinned by a tag other than latest or by a digest, " +
	"e.g. registry.example/mirror/fortio:1.66.5 or registry.example/mirror/fortio@sha256:<64 hex digits> (W-OPS-4: no floating :latest)"

// checkImages checks every image variable the workloads read: a reference
// the kubelet could not pull fails a pod only after the cluster is up, and
// a floating tag makes results unrepeatable (W-OPS-4). Unset means the
// pinned default.
func checkImages(getenv func(string) string) []error {
	var errs []error
	for _, env := range fixtures.ImageEnvs {
		if err := checkImage(env, getenv(env)); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// checkImage checks one image reference with go-containerregistry's
// parser (registry, repository, tag and digest grammar), as given: the
// workloads use the value unchanged.
func checkImage(env, v string) error {
	if v == "" {
		return nil
	}
	ref, err := name.ParseReference(v)
	if err != nil {
		return envError(env, v, fmt.Sprintf("not an image reference (%v)", err), allowedImage)
	}
	if t, ok := ref.(name.Tag); ok && t.TagStr() == "latest" {
		return envError(env, v, "no tag, or the tag latest: the image can change between runs", allowedImage)
	}
	return nil
}
