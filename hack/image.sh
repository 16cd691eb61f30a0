#!/usr/bin/env bash
# image.sh builds the controller's container image with no Docker and no
# base image to pull, and prints the directory it wrote on stdout:
#
#   hack/image.sh                           linux/amd64 and linux/arm64
#   hack/image.sh --push ghcr.io/secretsync  the same, then pushes
#                                           REGISTRY/controller:VERSION
#
# VERSION is `git describe --tags --always --dirty`: v0.1.0 when the tree is
# at that tag, which is what config/manager/deployment.yaml names. The tool
# in hack/image (a module of its own, so go-containerregistry stays out of
# this one's go.mod) builds a static binary per platform and writes, under
# ${SECRETSYNC_CACHE}/image/VERSION/:
#
#   oci/                                 OCI layout: one index, all platforms
#   controller-VERSION-linux-ARCH.tar    `docker load -i` tarball, per platform
#
# Each image is the binary at /controller, the build machine's
# /etc/ssl/certs/ca-certificates.crt and an /etc/passwd naming nonroot
# (65532), run as 65532:65532: no shell, nothing written at run time. The
# commit's time stamps the image, so a clean tree gives the same digests.
# The Dockerfile builds the same image with Docker.
#
# Environment:
#   SECRETSYNC_CACHE  cache root (default $XDG_CACHE_HOME/secretsync)
#   PLATFORMS         default linux/amd64,linux/arm64
set -euo pipefail

usage() {
  echo "usage: hack/image.sh [--push REGISTRY]" >&2
  exit 2
}

registry=""
while (($#)); do
  case "$1" in
    --push)
      (($# >= 2)) || usage
      registry="${2%/}"
      shift 2
      ;;
    *) usage ;;
  esac
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache_root="${SECRETSYNC_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/secretsync}"
version="$(git -C "${root}" describe --tags --always --dirty)"
out="${cache_root}/image/${version}"

args=(
  -src "${root}"
  -version "${version}"
  -revision "$(git -C "${root}" rev-parse HEAD)"
  -created "${SOURCE_DATE_EPOCH:-$(git -C "${root}" log -1 --format=%ct)}"
  -platform "${PLATFORMS:-linux/amd64,linux/arm64}"
  -out "${out}"
)
if [[ -n "${registry}" ]]; then
  args+=(-image "${registry}/controller" -push)
else
  args+=(-image ghcr.io/secretsync/controller)
fi

mkdir -p "${cache_root}/image"
(cd "${root}/hack/image" && go run . "${args[@]}")
echo "${out}"
