package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Archive is a built image: the OCI archive to import into a node's containerd.
type Archive struct {
	Ref  string `json:"ref"`
	Path string `json:"path"`
	// Digest is the image manifest's digest, which containerd keeps on import (`ctr images ls`
	// shows it); ID the config's (what Docker calls the image ID).
	Digest string `json:"digest"`
	ID     string `json:"id"`
	// Size is the archive's size in bytes.
	Size int64 `json:"size"`
	// Sandbox marks the pause image, which the lab pins as containerd's sandbox image.
	Sandbox bool `json:"sandbox,omitempty"`
}

// ConfigFile is the image configuration a spec gives: its Config, linux on this machine's
// architecture, created at the epoch, one history entry per layer.
func (s Spec) ConfigFile() v1.ConfigFile {
	c := v1.Config{
		Entrypoint: s.Config.Entrypoint,
		Cmd:        s.Config.Cmd,
		Env:        s.Config.Env,
		WorkingDir: s.Config.WorkingDir,
		User:       s.Config.User,
	}
	if len(s.Config.ExposedPorts) > 0 {
		c.ExposedPorts = map[string]struct{}{}
		for _, p := range s.Config.ExposedPorts {
			c.ExposedPorts[p] = struct{}{}
		}
	}
	if len(s.Config.Volumes) > 0 {
		c.Volumes = map[string]struct{}{}
		for _, v := range s.Config.Volumes {
			c.Volumes[v] = struct{}{}
		}
	}
	cf := v1.ConfigFile{
		Architecture: runtime.GOARCH,
		OS:           "linux",
		Created:      v1.Time{Time: epoch},
		Config:       c,
		RootFS:       v1.RootFS{Type: "layers"},
	}
	for range s.Layers {
		cf.History = append(cf.History, v1.History{Created: v1.Time{Time: epoch}, CreatedBy: s.CreatedBy, Comment: "kube-netbench lab"})
	}
	return cf
}

// Image assembles the image of s with OCI media types: each layer written once as an
// uncompressed tar into tmpDir (removed by the caller), then gzip-compressed by
// go-containerregistry.
func (s Spec) Image(tmpDir string) (v1.Image, error) {
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	for i, l := range s.Layers {
		p := filepath.Join(tmpDir, fmt.Sprintf("layer-%d.tar", i))
		if err := writeLayerFile(l, p); err != nil {
			return nil, err
		}
		layer, err := tarball.LayerFromFile(p, tarball.WithMediaType(types.OCILayer))
		if err != nil {
			return nil, fmt.Errorf("images: %s layer %d: %w", s.Ref, i, err)
		}
		if img, err = mutate.AppendLayers(img, layer); err != nil {
			return nil, fmt.Errorf("images: %s layer %d: %w", s.Ref, i, err)
		}
	}
	base, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf := s.ConfigFile()
	cf.RootFS.DiffIDs = base.RootFS.DiffIDs
	return mutate.ConfigFile(img, &cf)
}

func writeLayerFile(l Layer, p string) error {
	f, err := os.Create(p)
	if err != nil {
		return fmt.Errorf("images: %w", err)
	}
	if err := l.WriteTar(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Build writes the image of s as an OCI archive (an image layout in a tar) at out, through a
// temporary file renamed into place, and returns it. The layout's index names the image with
// io.containerd.image.name, so `ctr images import` needs no flags and keeps the manifest (and
// so the digest) as built.
func (s Spec) Build(out string) (Archive, error) {
	tag, err := name.NewTag(s.Ref)
	if err != nil {
		return Archive{}, fmt.Errorf("images: %w", err)
	}
	tmpDir, err := os.MkdirTemp(filepath.Dir(out), ".build-")
	if err != nil {
		return Archive{}, fmt.Errorf("images: %w", err)
	}
	defer os.RemoveAll(tmpDir)
	img, err := s.Image(tmpDir)
	if err != nil {
		return Archive{}, err
	}
	dir := filepath.Join(tmpDir, "oci")
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		return Archive{}, fmt.Errorf("images: %w", err)
	}
	if err := lp.AppendImage(img, layout.WithAnnotations(map[string]string{
		ContainerdNameAnnotation:            ContainerdName(tag),
		"org.opencontainers.image.ref.name": tag.TagStr(),
	})); err != nil {
		return Archive{}, fmt.Errorf("images: writing %s: %w", s.Ref, err)
	}
	tmp := filepath.Join(tmpDir, filepath.Base(out))
	if err := writeLayerFile(Layer{Root: dir}, tmp); err != nil {
		return Archive{}, err
	}
	a, err := describe(s.Ref, img)
	if err != nil {
		return Archive{}, err
	}
	st, err := os.Stat(tmp)
	if err != nil {
		return Archive{}, fmt.Errorf("images: %w", err)
	}
	a.Path, a.Size = out, st.Size()
	if err := os.Rename(tmp, out); err != nil {
		return Archive{}, fmt.Errorf("images: %w", err)
	}
	return a, nil
}

// ContainerdNameAnnotation names an image of an OCI archive for containerd's import.
const ContainerdNameAnnotation = "io.containerd.image.name"

// ContainerdName is the name containerd (and the kubelet) give a reference: Docker Hub's
// normalized as docker.io/<namespace>/<name>:<tag>.
func ContainerdName(tag name.Tag) string {
	reg := tag.RegistryStr()
	if reg == name.DefaultRegistry {
		reg = "docker.io"
	}
	return reg + "/" + tag.RepositoryStr() + ":" + tag.TagStr()
}

func describe(ref string, img v1.Image) (Archive, error) {
	d, err := img.Digest()
	if err != nil {
		return Archive{}, fmt.Errorf("images: %s: %w", ref, err)
	}
	id, err := img.ConfigName()
	if err != nil {
		return Archive{}, fmt.Errorf("images: %s: %w", ref, err)
	}
	return Archive{Ref: ref, Digest: d.String(), ID: id.String()}, nil
}

// FileName is the archive's name under <cache>/images: the reference's last path element
// and tag ("kube-proxy_v1.37.2.tar").
func (s Spec) FileName() string {
	repo, tag, _ := strings.Cut(s.Ref[strings.LastIndex(s.Ref, "/")+1:], ":")
	return repo + "_" + tag + ".tar"
}
