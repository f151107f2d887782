// Package imageid records which image bytes a run's containers ran: the image ID each
// kubelet reports in a pod's status (status.containerStatuses[].imageID, e.g.
// "docker.io/fortio/fortio@sha256:…"), per image reference the pods named. A tag
// says what was asked for; the image ID says what ran, also where the tag moved.
package imageid

import (
	"cmp"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"kube-netbench/internal/report"
)

// Image is one image reference the pods' containers named and the image IDs reported
// for it: sorted, without repeats, more than one when nodes resolved the reference to
// different images; none when no container of it has started.
type Image struct {
	Ref string
	IDs []string
}

// FromPods returns the images of the pods' containers and init containers, sorted by
// reference. A status is matched to its container by name: the reference is the one the
// spec names (a status's image field may be normalised, e.g. docker.io/library/...).
func FromPods(pods []corev1.Pod) []Image {
	ids := map[string][]string{}
	add := func(specs []corev1.Container, statuses []corev1.ContainerStatus) {
		for _, c := range specs {
			if _, ok := ids[c.Image]; !ok {
				ids[c.Image] = nil
			}
			for _, st := range statuses {
				if st.Name == c.Name && st.ImageID != "" && !slices.Contains(ids[c.Image], st.ImageID) {
					ids[c.Image] = append(ids[c.Image], st.ImageID)
				}
			}
		}
	}
	for _, p := range pods {
		add(p.Spec.InitContainers, p.Status.InitContainerStatuses)
		add(p.Spec.Containers, p.Status.ContainerStatuses)
	}
	out := make([]Image, 0, len(ids))
	for ref, l := range ids {
		slices.Sort(l)
		out = append(out, Image{Ref: ref, IDs: l})
	}
	slices.SortFunc(out, func(a, b Image) int { return cmp.Compare(a.Ref, b.Ref) })
	return out
}

// Attach returns tools with ImageID set from the image of the same reference, followed by
// a tool for each image no tool names (a probe's busybox, say), named after its
// repository. Several image IDs are joined by commas. tools is not modified.
func Attach(tools []report.Tool, images []Image) []report.Tool {
	out := slices.Clone(tools)
	used := map[string]bool{}
	names := map[string]bool{}
	for _, t := range out {
		names[t.Name] = true
	}
	for i, t := range out {
		for _, im := range images {
			if im.Ref == t.Image {
				out[i].ImageID = strings.Join(im.IDs, ",")
				used[im.Ref] = true
			}
		}
	}
	for _, im := range images {
		if used[im.Ref] {
			continue
		}
		base := toolName(im.Ref)
		name := base
		for n := 2; names[name]; n++ {
			name = base + "-" + strconv.Itoa(n)
		}
		names[name] = true
		out = append(out, report.Tool{Name: name, Image: im.Ref, ImageID: strings.Join(im.IDs, ",")})
	}
	return out
}

var notName = regexp.MustCompile(`[^a-z0-9.-]+`)

// toolName is a reference's repository without registry, path or tag, lower case, in the
// characters a benchmark-format key allows: "busybox" for "busybox:1.36".
func toolName(ref string) string {
	base := path.Base(ref)
	if i := strings.IndexAny(base, ":@"); i > 0 {
		base = base[:i]
	}
	base = notName.ReplaceAllString(strings.ToLower(base), "-")
	if base == "" || base[0] < 'a' || base[0] > 'z' {
		base = "image-" + base
	}
	return base
}
