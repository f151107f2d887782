//go:build linux

package lab

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"kube-netbench/internal/lab/components"
)

// imageIndex lists the image archives `make lab-images` built
// (scripts/labbuild/images): reference and archive path, the sandbox (pause)
// image marked.
func imageIndex(cache components.Cache) string {
	return filepath.Join(cache.Root, "images", "index.json")
}

// nodeImages returns the archives a node of dataplane dp imports, read from
// the image index, and the sandbox image's reference. A node imports what it
// may run: not the other dataplane's agent (Cilium's image alone is 237 MiB).
func nodeImages(cache components.Cache, dp Dataplane) (archives []string, sandbox string, err error) {
	const build = "run `make lab-images` (scripts/lab-images.sh; `make lab-images-cilium` for Cilium) first"
	b, err := os.ReadFile(imageIndex(cache))
	if err != nil {
		return nil, "", fmt.Errorf("lab images: %w: %s", err, build)
	}
	var index []struct {
		Ref     string `json:"ref"`
		Path    string `json:"path"`
		Sandbox bool   `json:"sandbox"`
	}
	if err := json.Unmarshal(b, &index); err != nil {
		return nil, "", fmt.Errorf("lab images: %s: %w: %s", imageIndex(cache), err, build)
	}
	agent, other := KubeProxyImage, CiliumImage
	if dp.Cilium() {
		agent, other = CiliumImage, KubeProxyImage
	}
	var errs []error
	haveAgent := false
	for _, a := range index {
		if a.Ref == other {
			continue
		}
		if _, err := os.Stat(a.Path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", a.Ref, err))
			continue
		}
		archives = append(archives, a.Path)
		haveAgent = haveAgent || a.Ref == agent
		if a.Sandbox {
			sandbox = a.Ref
		}
	}
	if !haveAgent {
		errs = append(errs, fmt.Errorf("no archive of %s", agent))
	}
	if sandbox == "" {
		errs = append(errs, errors.New("no sandbox (pause) image"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, "", fmt.Errorf("lab images (%s): %w\n%s", imageIndex(cache), err, build)
	}
	return archives, sandbox, nil
}
