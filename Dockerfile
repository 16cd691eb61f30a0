# The controller's image, for those who build with Docker; hack/image.sh
# builds the same image without Docker (see README.md). From the
# repository root:
#
#   v="$(git describe --tags --always --dirty)"
#   docker buildx build --platform linux/amd64,linux/arm64 \
#     --build-arg VERSION="$v" --build-arg REVISION="$(git rev-parse HEAD)" \
#     -t ghcr.io/secretsync/controller:"$v" .

# go.mod says go 1.22.0: the builder is that release's last patch. It runs
# on the build machine and cross-compiles; the binary is static.
FROM --platform=$BUILDPLATFORM golang:1.22.12-bookworm AS build
ARG TARGETOS TARGETARCH TARGETVARIANT VERSION
RUN : "${VERSION:?pass --build-arg VERSION=\$(git describe --tags --always --dirty)}" && \
    test "$VERSION" != latest
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS="$TARGETOS" GOARCH="$TARGETARCH" GOARM="${TARGETVARIANT#v}" \
    go build -trimpath -ldflags "-s -w" -o /out/controller ./examples/controller

# distroless's nonroot has what hack/image.sh puts in its image: CA
# certificates and /etc/passwd with nonroot (65532); no shell.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION REVISION
LABEL org.opencontainers.image.source="https://github.com/secretsync/secretsync" \
      org.opencontainers.image.version="$VERSION" \
      org.opencontainers.image.revision="$REVISION" \
      org.opencontainers.image.title="secretsync controller"
COPY --from=build /out/controller /controller
USER 65532:65532
ENTRYPOINT ["/controller"]
CMD ["run"]
