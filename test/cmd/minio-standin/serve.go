package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// run opens the drive, listens on both addresses and serves until ctx is
// done.
func (s server) run(ctx context.Context, stderr io.Writer) error {
	api, err := net.Listen("tcp", s.address)
	if err != nil {
		return fmt.Errorf("--address: %w", err)
	}
	console, err := net.Listen("tcp", s.console)
	if err != nil {
		api.Close()
		return fmt.Errorf("--console-address: %w", err)
	}
	return s.serve(ctx, api, console, stderr)
}

// serve opens the drive and serves the health checks on api and the
// console's 404 on console until ctx is done; it closes both listeners.
func (s server) serve(ctx context.Context, api, console net.Listener, stderr io.Writer) error {
	f, created, err := openDrive(s.dir)
	if err != nil {
		api.Close()
		console.Close()
		return err
	}
	how := "found on the drive"
	if created {
		how = "made: a fresh drive"
	}
	fmt.Fprintf(stderr, "minio-standin: drive %s, deployment ID %s (%s); API on %s, console on %s\n", s.dir, f.ID, how, api.Addr(), console.Addr())

	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }
	mux.HandleFunc("GET /minio/health/live", ok)
	mux.HandleFunc("GET /minio/health/ready", ok)
	servers := []*http.Server{
		{Handler: mux, ReadHeaderTimeout: 5 * time.Second},
		{Handler: http.NotFoundHandler(), ReadHeaderTimeout: 5 * time.Second},
	}
	errs := make(chan error, len(servers))
	for i, l := range []net.Listener{api, console} {
		go func() { errs <- servers[i].Serve(l) }()
	}
	var stopped error // a server that stopped on its own: an error
	select {
	case <-ctx.Done():
	case stopped = <-errs:
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range servers {
		stopped = errors.Join(stopped, srv.Shutdown(shutdown))
	}
	return stopped
}
