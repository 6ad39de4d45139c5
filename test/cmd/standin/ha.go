package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/hubkit/hubkit/test/standin"
)

// runHA runs the Hub's HA mode (`HAMain create|start|help`, see
// standin.ParseHA): create initialises the group and exits; start runs the
// node in the group until SIGTERM.
func runHA(cfg standin.Config, args []string) int {
	hc, err := standin.ParseHA(args, os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "standin:", err)
		return 2
	}
	if hc.Command == standin.HAHelp {
		return 0
	}
	if hc.PasswordInArgs {
		fmt.Fprintln(os.Stderr, "standin: warning: -j carries the database's password on the command line, where ps shows it: give -j '${VARIABLE}' and the URI in that environment variable")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if hc.Command == standin.HACreate {
		if err := standin.CreateHA(ctx, cfg, hc, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "standin:", err)
			return 1
		}
		return 0
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
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ha, err := app.JoinHA(ctx, hc)
	if errors.Is(err, standin.ErrNoHAGroup) {
		fmt.Fprintln(os.Stderr, "standin:", err)
		return standin.ExitNoHAGroup
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "standin:", err)
		return 1
	}
	err = app.Run(ctx)
	cancel()
	ha.Wait()
	if err != nil {
		fmt.Fprintln(os.Stderr, "standin:", err)
		return 1
	}
	return 0
}
