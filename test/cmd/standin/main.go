// Command standin is the Hub stand-in the real-node tests run in place of
// HighByte Intelligence Hub (see test/standin). `make images` packages it
// as docker.io/library/highbyte:<tag>, so the kind overlay runs unchanged.
//
// With `ha <create|start|help> -n <node> -j <jdbc uri>`, or the Hub's own
// `java -cp ... com.highbyte.intelligencehub.runtime.HAMain ...` (an image
// whose java is this binary), it runs the Hub's HA mode (ha.go).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/hubkit/hubkit/test/standin"
)

func main() {
	os.Exit(run())
}

func run() int {
	cfg, err := standin.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "standin:", err)
		return 1
	}
	if args, ok := standin.HAArgs(os.Args[1:]); ok {
		return runHA(cfg, args)
	}
	if cfg.Telemetry, err = standin.TelemetryFrom(os.Args[1:], os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "standin:", err)
		return 2
	}
	app, err := standin.Open(cfg, os.Stderr)
	if errors.Is(err, standin.ErrLockHeld) {
		fmt.Fprintf(os.Stderr, "standin: refused to start: %v (a second writer on %s)\n", err, cfg.AppData)
		return standin.ExitLockHeld
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "standin:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := app.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "standin:", err)
		return 1
	}
	return 0
}
