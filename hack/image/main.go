// Command image builds the controller's container image without Docker and
// without pulling a base image: a static controller binary, CA
// certificates and a passwd entry for the nonroot user 65532, for each
// platform, as one OCI image index. hack/image.sh runs it; the Dockerfile
// at the repository root builds the same image with Docker.
//
// It writes, under -out:
//
//	oci/                                   an OCI image layout holding the index, tagged VERSION
//	controller-VERSION-OS-ARCH.tar         one `docker load` tarball per platform
//
// and, with -push, pushes the index as IMAGE:VERSION with the credentials
// of ~/.docker/config.json.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	var (
		s         spec
		platforms = fs.String("platform", "linux/amd64,linux/arm64", "comma-separated OS/ARCH[/VARIANT] list")
		created   = fs.Int64("created", 0, "image and file time, Unix seconds (the commit's time, for reproducible digests)")
		repo      = fs.String("image", "ghcr.io/secretsync/controller", "image repository the tag and -push use")
		out       = fs.String("out", "", "output directory, replaced when the build succeeds")
		push      = fs.Bool("push", false, "push the index to IMAGE:VERSION")
	)
	fs.StringVar(&s.Src, "src", ".", "root of the secretsync repository")
	fs.StringVar(&s.Version, "version", "", "image version: the tag and the version label")
	fs.StringVar(&s.Revision, "revision", "", "commit the image is built from, for its label")
	fs.StringVar(&s.SourceURL, "source-url", "https://github.com/secretsync/secretsync", "repository address, for the source label")
	fs.StringVar(&s.CACerts, "ca-certs", "/etc/ssl/certs/ca-certificates.crt", "CA bundle copied into the image")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *out == "" {
		return fmt.Errorf("-out not set")
	}
	if *created > 0 {
		s.Created = time.Unix(*created, 0).UTC()
	}
	var err error
	if s.Platforms, err = parsePlatforms(*platforms); err != nil {
		return err
	}
	tag, err := imageTag(*repo, s.Version)
	if err != nil {
		return err
	}

	work, err := os.MkdirTemp("", "secretsync-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	s.WorkDir = work

	idx, err := build(ctx, s)
	if err != nil {
		return err
	}
	if err := writeOutputs(idx, *out, tag); err != nil {
		return err
	}
	d, err := idx.Digest()
	if err != nil {
		return err
	}
	logf("wrote %s@%s to %s", tag, d, *out)
	if *push {
		if err := remote.WriteIndex(tag, idx, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
			return fmt.Errorf("push %s: %w", tag, err)
		}
		logf("pushed %s@%s", tag, d)
	}
	return nil
}

// imageTag is repo:version. "latest" is refused: a manifest that names it
// cannot say which build it runs.
func imageTag(repo, version string) (name.Tag, error) {
	if version == "" {
		return name.Tag{}, fmt.Errorf("-version not set")
	}
	if version == "latest" {
		return name.Tag{}, fmt.Errorf("-version latest: tag a version, never latest")
	}
	tag, err := name.NewTag(repo+":"+version, name.StrictValidation)
	if err != nil {
		return name.Tag{}, fmt.Errorf("image tag: %w", err)
	}
	return tag, nil
}

// writeOutputs writes idx as an OCI layout, and each of its images as a
// docker-loadable tarball, into a fresh directory that then replaces dir:
// a failed build leaves the previous output whole.
func writeOutputs(idx v1.ImageIndex, dir string, tag name.Tag) error {
	stage := strings.TrimSuffix(dir, string(filepath.Separator)) + ".new"
	if err := os.RemoveAll(stage); err != nil {
		return err
	}
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return err
	}
	p, err := layout.Write(filepath.Join(stage, "oci"), empty.Index)
	if err != nil {
		return fmt.Errorf("OCI layout: %w", err)
	}
	// The ref name annotation lets `skopeo copy oci:DIR:VERSION` and
	// `crane` find the index by its tag.
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": tag.TagStr(),
	})); err != nil {
		return fmt.Errorf("OCI layout: %w", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, desc := range im.Manifests {
		img, err := idx.Image(desc.Digest)
		if err != nil {
			return err
		}
		pl := desc.Platform
		file := fmt.Sprintf("controller-%s-%s.tar", tag.TagStr(), strings.ReplaceAll(pl.String(), "/", "-"))
		if err := tarball.WriteToFile(filepath.Join(stage, file), tag, img); err != nil {
			return fmt.Errorf("tarball for %s: %w", pl, err)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.Rename(stage, dir)
}
