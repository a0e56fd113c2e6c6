# syntax=docker/dockerfile:1
# One static binary; the image works as a KRM container function by default
# (CMD fn) and the webhook Deployment runs it with args ["webhook", ...].
FROM golang:1.26 AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-trimpath \
    GONOSUMDB=github.com/metal3-io/cluster-api-provider-metal3,github.com/metal3-io/ip-address-manager
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN go build -ldflags "-s -w -X github.com/pivotcheck/pivotcheck/internal/version.Version=${VERSION}" \
    -o /out/pivotcheck ./cmd/pivotcheck

# The KRM function image (docker build --target fn): the function is the
# entrypoint, so `kpt fn doc` (which runs the image with --help) shows the
# function's own documentation and `kpt fn eval --image` runs it as is.
FROM gcr.io/distroless/static-debian12:nonroot AS fn
COPY --from=build /out/pivotcheck /pivotcheck
USER 65532:65532
ENTRYPOINT ["/pivotcheck", "fn"]

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.title="pivotcheck" \
      org.opencontainers.image.description="Makes the Metal3 pivot (clusterctl move) safe: KRM function, admission webhook, preflight and move driver" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/pivotcheck /pivotcheck
USER 65532:65532
ENTRYPOINT ["/pivotcheck"]
CMD ["fn"]
