# The singleton function's image, for those who build with Docker. `make image`
# builds the same image without a Docker engine (tools/image).
#   docker build -t ghcr.io/hubkit/singleton:dev .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o /singleton ./plugin

FROM scratch
LABEL org.opencontainers.image.title=singleton \
      org.opencontainers.image.source=https://github.com/hubkit/hubkit \
      org.opencontainers.image.licenses=Apache-2.0
COPY --from=build /singleton /usr/local/bin/singleton
USER 65534:65534
ENTRYPOINT ["/usr/local/bin/singleton"]
