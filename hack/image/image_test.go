package main

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestImage builds the image for this machine's platform from this
// repository, reads it back from the OCI layout it wrote, unpacks it into a
// directory and runs the controller binary found there. hack/image.sh
// builds every platform; one is enough to prove the image's shape.
func TestImage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	src, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	host := v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	s := spec{
		Src:       src,
		Version:   "v0.0.0-test",
		Revision:  "0123456789abcdef0123456789abcdef01234567",
		SourceURL: "https://github.com/secretsync/secretsync",
		Created:   time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		CACerts:   "/etc/ssl/certs/ca-certificates.crt",
		Platforms: []v1.Platform{host},
		WorkDir:   t.TempDir(),
	}
	start := time.Now()
	idx, err := build(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := imageTag("ghcr.io/secretsync/controller", s.Version)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "image")
	if err := writeOutputs(idx, out, tag); err != nil {
		t.Fatal(err)
	}
	t.Logf("built and wrote the image in %s", time.Since(start).Round(time.Second))

	// Everything below reads what was written, not the in-memory index.
	shipped, img := readLayout(t, filepath.Join(out, "oci"), s.Version, host)

	t.Run("config", func(t *testing.T) {
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		want := v1.Config{
			User:       "65532:65532",
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
		if diff := cmp.Diff(want, cf.Config); diff != "" {
			t.Errorf("config (-want +got):\n%s", diff)
		}
		if cf.OS != host.OS || cf.Architecture != host.Architecture || !cf.Created.Time.Equal(s.Created) {
			t.Errorf("config: os %q, architecture %q, created %s; want %s, %s", cf.OS, cf.Architecture, cf.Created.Time, host, s.Created)
		}
	})

	root := t.TempDir()
	entries := extract(t, img, root)

	t.Run("files", func(t *testing.T) {
		// Exactly these, so a shell, a package manager or a stray file
		// fails here.
		want := []string{
			"controller file 755 0:0",
			"etc dir 755 0:0",
			"etc/group file 644 0:0",
			"etc/passwd file 644 0:0",
			"etc/ssl dir 755 0:0",
			"etc/ssl/certs dir 755 0:0",
			"etc/ssl/certs/ca-certificates.crt file 644 0:0",
			"home dir 755 0:0",
			"home/nonroot dir 700 65532:65532",
		}
		if diff := cmp.Diff(want, entries); diff != "" {
			t.Errorf("files in the image (-want +got):\n%s", diff)
		}
		for _, sh := range []string{"bin/sh", "bin/bash", "bin/busybox"} {
			if _, err := os.Lstat(filepath.Join(root, sh)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s in the image: %v", sh, err)
			}
		}
		passwd, err := os.ReadFile(filepath.Join(root, "etc/passwd"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(passwd), "\nnonroot:x:65532:65532:") {
			t.Errorf("etc/passwd has no nonroot user 65532:\n%s", passwd)
		}
		hostCerts, err := os.ReadFile(s.CACerts)
		if err != nil {
			t.Fatal(err)
		}
		certs, err := os.ReadFile(filepath.Join(root, "etc/ssl/certs/ca-certificates.crt"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(certs, hostCerts) {
			t.Errorf("the image's CA bundle (%d bytes) is not %s (%d bytes)", len(certs), s.CACerts, len(hostCerts))
		}
	})

	t.Run("binary runs", func(t *testing.T) {
		bin := filepath.Join(root, "controller")
		tests := map[string]struct {
			args     []string
			wantExit int
			// wantOut must appear on stdout, wantErr on stderr.
			wantOut, wantErr []string
		}{
			"help": {
				args:    []string{"help"},
				wantOut: []string{"controller render -f FILE", "controller run [flags]"},
			},
			"--help prints the run flags": {
				args:     []string{"--help"},
				wantExit: 1,
				wantErr:  []string{"-kubeconfig", "-metrics-addr"},
			},
			"render the quick start": {
				args:    []string{"render", "-f", filepath.Join(src, "examples/quickstart.yaml")},
				wantOut: []string{"apiVersion: v1\n", "kind: Secret\n", "secretsync.io/managed"},
			},
		}
		for name, tc := range tests {
			t.Run(name, func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				cmd := exec.CommandContext(ctx, bin, tc.args...)
				// What a container gets: the root as the working
				// directory and nothing from this machine's environment.
				cmd.Dir, cmd.Env = root, []string{}
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				err := cmd.Run()
				var exit *exec.ExitError
				switch {
				case err == nil && tc.wantExit == 0:
				case errors.As(err, &exit) && exit.ExitCode() == tc.wantExit:
				default:
					t.Fatalf("controller %s: %v, want exit %d\nstderr:\n%s", strings.Join(tc.args, " "), err, tc.wantExit, &stderr)
				}
				for _, w := range tc.wantOut {
					if !strings.Contains(stdout.String(), w) {
						t.Errorf("stdout lacks %q:\n%s", w, &stdout)
					}
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(stderr.String(), w) {
						t.Errorf("stderr lacks %q:\n%s", w, &stderr)
					}
				}
			})
		}
	})

	t.Run("docker tarball", func(t *testing.T) {
		file := filepath.Join(out, "controller-v0.0.0-test-"+host.OS+"-"+host.Architecture+".tar")
		loaded, err := tarball.ImageFromPath(file, &tag)
		if err != nil {
			t.Fatal(err)
		}
		// A docker tarball carries the config and layers, not the
		// manifest, so they are what must match.
		want, got := digests(t, img), digests(t, loaded)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: config and layer digests (-want +got):\n%s", file, diff)
		}
	})

	t.Run("push", func(t *testing.T) {
		srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
		defer srv.Close()
		u, err := url.Parse(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := imageTag(u.Host+"/secretsync/controller", s.Version)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.WriteIndex(ref, shipped, remote.WithContext(ctx)); err != nil {
			t.Fatal(err)
		}
		pulled, err := remote.Index(ref, remote.WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := shipped.Digest()
		got, err := pulled.Digest()
		if err != nil || got != want {
			t.Errorf("pulled %s: digest %s, %v; want %s", ref, got, err, want)
		}
	})
}

func TestImageTag(t *testing.T) {
	tests := map[string]struct {
		version string
		want    string // empty: an error
	}{
		"a release":                {"v0.1.0", "ghcr.io/secretsync/controller:v0.1.0"},
		"git describe, dirty tree": {"v0.1.0-3-g5644c91-dirty", "ghcr.io/secretsync/controller:v0.1.0-3-g5644c91-dirty"},
		"no version":               {"", ""},
		"latest is refused":        {"latest", ""},
		"not a tag":                {"v1+build", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tag, err := imageTag("ghcr.io/secretsync/controller", tc.version)
			got := ""
			if err == nil {
				got = tag.String()
			}
			if got != tc.want {
				t.Errorf("imageTag(%q) = %q, %v; want %q", tc.version, got, err, tc.want)
			}
		})
	}
}

// readLayout returns the index tagged version in the OCI layout at dir,
// and its image for p.
func readLayout(t *testing.T, dir, version string, p v1.Platform) (v1.ImageIndex, v1.Image) {
	t.Helper()
	lp, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	top, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	tm, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.Manifests) != 1 || tm.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != version {
		t.Fatalf("layout index.json: want one index named %s, got %+v", version, tm.Manifests)
	}
	idx, err := top.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range im.Manifests {
		if d.Platform != nil && d.Platform.Equals(p) {
			img, err := idx.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			return idx, img
		}
	}
	t.Fatalf("no image for %s in the index: %+v", p, im.Manifests)
	return nil, nil
}

// extract writes img's files under root and returns them as
// "name type mode uid:gid", sorted.
func extract(t *testing.T, img v1.Image, root string) []string {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	var entries []string
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		kind := map[byte]string{tar.TypeDir: "dir", tar.TypeReg: "file"}[h.Typeflag]
		entries = append(entries, fmt.Sprintf("%s %s %o %d:%d", h.Name, kind, h.Mode, h.Uid, h.Gid))
		target := filepath.Join(root, h.Name)
		if !strings.HasPrefix(target, root+string(filepath.Separator)) {
			t.Fatalf("%s leaves the root", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode).Perm())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(f, tr); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("%s: unexpected tar entry type %q", h.Name, h.Typeflag)
		}
	}
	sort.Strings(entries)
	return entries
}

// digests lists img's config digest, then its layers' diff IDs.
func digests(t *testing.T, img v1.Image) []string {
	t.Helper()
	cfg, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	ds := []string{"config " + cfg.String()}
	for _, l := range layers {
		d, err := l.DiffID()
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, "layer "+d.String())
	}
	return ds
}
