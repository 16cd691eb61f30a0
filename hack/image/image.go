package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// nonroot is the user the controller runs as: distroless's nonroot, so
// the image and gcr.io/distroless/static-debian12:nonroot (the Dockerfile's
// base) agree on the UID a Pod's securityContext sees.
const nonroot = 65532

// spec is everything one image build needs. Every field is required: an
// empty one is an error that names it, never a default.
type spec struct {
	// Src is the root of the secretsync repository; the binary is built
	// from ./examples/controller in it.
	Src string
	// Version goes into the version label. The tag is chosen by the caller.
	Version string
	// Revision is the commit the image is built from, for its label.
	Revision string
	// SourceURL is the repository's address, for its label.
	SourceURL string
	// Created stamps the image config, its history and every file, so the
	// same commit gives the same digests.
	Created time.Time
	// CACerts is the PEM bundle copied to /etc/ssl/certs/ca-certificates.crt.
	CACerts string
	// Platforms to build, one image each, in the index in this order.
	Platforms []v1.Platform
	// WorkDir receives the binaries; the layers hold copies in memory.
	WorkDir string
}

func (s spec) validate() error {
	var missing []string
	for name, empty := range map[string]bool{
		"Src":       s.Src == "",
		"Version":   s.Version == "",
		"Revision":  s.Revision == "",
		"SourceURL": s.SourceURL == "",
		"Created":   s.Created.IsZero(),
		"CACerts":   s.CACerts == "",
		"Platforms": len(s.Platforms) == 0,
		"WorkDir":   s.WorkDir == "",
	} {
		if empty {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("image spec: %s not set", strings.Join(missing, ", "))
	}
	return nil
}

// build compiles the controller for each platform and returns them as one
// OCI image index. Each image is two layers on nothing: the files every
// platform shares (passwd, group, CA certificates; one blob for all), then
// the static binary.
func build(ctx context.Context, s spec) (v1.ImageIndex, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	certs, err := os.ReadFile(s.CACerts)
	if err != nil {
		return nil, fmt.Errorf("read CA certificates (Debian's ca-certificates package provides them): %w", err)
	}
	base, err := layer(s.Created, baseFiles(certs))
	if err != nil {
		return nil, fmt.Errorf("base layer: %w", err)
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range s.Platforms {
		bin := filepath.Join(s.WorkDir, strings.ReplaceAll(p.String(), "/", "-"), "controller")
		if err := goBuild(ctx, s.Src, p, bin); err != nil {
			return nil, err
		}
		img, err := image(s, p, base, bin)
		if err != nil {
			return nil, fmt.Errorf("image for %s: %w", p, err)
		}
		p := p
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &p},
		})
	}
	return idx, nil
}

// goBuild builds a static controller binary for p at out.
func goBuild(ctx context.Context, src string, p v1.Platform, out string) error {
	if p.OS != "linux" {
		return fmt.Errorf("platform %s: only linux images are built", p)
	}
	env := append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Architecture)
	if p.Architecture == "arm" && p.Variant != "" {
		env = append(env, "GOARM="+strings.TrimPrefix(p.Variant, "v"))
	}
	// The controller has no version variable to set with -X: the version
	// is in the image's labels only.
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, "./examples/controller")
	cmd.Dir = src
	cmd.Env = env
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build for %s: %w", p, err)
	}
	logf("built the controller for %s in %s", p, time.Since(start).Round(time.Second))
	return nil
}

func image(s spec, p v1.Platform, base v1.Layer, bin string) (v1.Image, error) {
	binData, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	app, err := layer(s.Created, []file{{name: "controller", mode: 0o755, data: binData}})
	if err != nil {
		return nil, fmt.Errorf("binary layer: %w", err)
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, History: v1.History{
			Created:   v1.Time{Time: s.Created},
			CreatedBy: "hack/image: /etc/passwd, /etc/group, /etc/ssl/certs/ca-certificates.crt",
			Comment:   "files shared by every platform",
		}},
		mutate.Addendum{Layer: app, History: v1.History{
			Created:   v1.Time{Time: s.Created},
			CreatedBy: "hack/image: CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' ./examples/controller",
		}},
	)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Created = v1.Time{Time: s.Created}
	cf.Config = v1.Config{
		User:       fmt.Sprintf("%d:%d", nonroot, nonroot),
		Entrypoint: []string{"/controller"},
		Cmd:        []string{"run"},
		WorkingDir: "/",
		Labels: map[string]string{
			"org.opencontainers.image.source":   s.SourceURL,
			"org.opencontainers.image.version":  s.Version,
			"org.opencontainers.image.revision": s.Revision,
			"org.opencontainers.image.title":    "secretsync controller",
		},
	}
	return mutate.ConfigFile(img, cf)
}

// file is one entry of a layer; a name ending in "/" is a directory.
type file struct {
	name     string
	mode     int64
	uid, gid int
	data     []byte
}

// baseFiles are the files a static Go binary needs from an OS: a user
// name for 65532 (and for root, which some tools look up), and the CA
// certificates crypto/x509 reads on Linux. No shell, no package database.
func baseFiles(certs []byte) []file {
	return []file{
		{name: "etc/", mode: 0o755},
		{name: "etc/passwd", mode: 0o644, data: []byte(fmt.Sprintf(
			"root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", nonroot, nonroot))},
		{name: "etc/group", mode: 0o644, data: []byte(fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", nonroot))},
		{name: "etc/ssl/", mode: 0o755},
		{name: "etc/ssl/certs/", mode: 0o755},
		{name: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, data: certs},
		{name: "home/", mode: 0o755},
		{name: "home/nonroot/", mode: 0o700, uid: nonroot, gid: nonroot},
	}
}

// layer writes files as a gzipped tar layer with every time set to
// mtime and no user or group names, so equal inputs give equal digests.
func layer(mtime time.Time, files []file) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{
			Name:     f.name,
			Mode:     f.mode,
			Uid:      f.uid,
			Gid:      f.gid,
			ModTime:  mtime,
			Typeflag: tar.TypeReg,
			Size:     int64(len(f.data)),
			Format:   tar.FormatPAX,
		}
		if strings.HasSuffix(f.name, "/") {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	// Compressed once, here: the layout, the tarballs and a push each
	// read the compressed bytes. The gzip header has no time or name.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(buf.Bytes()); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	data := gz.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

// parsePlatforms reads a comma-separated list such as
// "linux/amd64,linux/arm64".
func parsePlatforms(list string) ([]v1.Platform, error) {
	var ps []v1.Platform
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		p, err := v1.ParsePlatform(s)
		if err != nil {
			return nil, fmt.Errorf("platform %q: %w", s, err)
		}
		if p.OS == "" || p.Architecture == "" {
			return nil, fmt.Errorf("platform %q: want OS/ARCH[/VARIANT]", s)
		}
		ps = append(ps, *p)
	}
	if len(ps) == 0 {
		return nil, errors.New("no platform given")
	}
	return ps, nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "image: "+format+"\n", args...)
}
