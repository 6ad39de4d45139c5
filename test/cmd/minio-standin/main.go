// Command minio-standin stands in for MinIO's server in the real-node tests,
// which pull no image: test/images.MinIO packages it as /usr/bin/minio under
// the image name MinIO's own Helm chart runs, so the chart runs unchanged
// (test/e2e's TestMinIOChartUpgrade). It keeps the part of MinIO's
// single-node contract that the test relies on, and nothing more:
//
//	minio server DIR --address :PORT --console-address :PORT [-S|--certs-dir DIR]
//
// That is:
//   - its state lives under DIR: on the first start it makes
//     DIR/.minio.sys/format.json with a new deployment ID, as MinIO formats
//     a fresh drive; every later start reads it and keeps that ID;
//   - GET (or HEAD) /minio/health/live and /minio/health/ready answer 200 on
//     --address, unauthenticated, as MinIO's health check documentation
//     says; nothing else is served there (no S3 API);
//   - it listens on --console-address (the console's port), answering 404;
//   - SIGTERM or SIGINT stop it, exit status 0.
//
// Where MinIO's contract is silent, the stand-in assumes:
//   - format.json's layout, which MinIO does not document: the stand-in
//     writes the fields of MinIO's own (cmd/format-erasure.go) that say
//     what the drive is (version "1", format "xl-single", the deployment ID
//     as "id", and this drive's ID); only "id" is read back;
//   - that a drive with a format.json it cannot read is an error that stops
//     the start, as MinIO refuses a corrupted drive, rather than a drive to
//     format again;
//   - that the flags may come before or after DIR, as MinIO takes them;
//     any other flag is refused (MinIO has many: the chart uses these).
//
// It logs one line when it serves, naming the deployment ID and whether it
// made or found it, which the test reads as proof that a new pod runs on
// the old pod's data.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	s, err := parseArgs(args)
	if err != nil {
		fmt.Fprintln(stderr, "minio-standin:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := s.run(ctx, stderr); err != nil {
		fmt.Fprintln(stderr, "minio-standin:", err)
		return 1
	}
	return 0
}
