// Package hubctl is kubectl hubkit: the README's runbooks for a Hub (any
// singleton hubkit rendered), each one command that waits for what it
// does, prints a line per step, and exits with a code that means one
// thing (Code).
package hubctl

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/hubkit/hubkit/internal/names"
)

// options are every command's: kubectl's flags, the Hub, the wait.
type options struct {
	flags   *genericclioptions.ConfigFlags
	streams genericiooptions.IOStreams
	hub     string
	volume  string
	timeout time.Duration
	dryRun  bool
}

// connect reaches the cluster and finds the Hub.
func (o *options) connect(ctx context.Context) (*Clients, Hub, error) {
	c, ns, err := clientsFor(o.flags)
	if err != nil {
		return nil, Hub{}, err
	}
	h, err := c.findHub(ctx, ns, o.hub)
	if err != nil {
		return nil, Hub{}, err
	}
	h, err = c.dataClaim(ctx, h, o.volume)
	return c, h, err
}

// NewCommand is kubectl hubkit and its commands.
func NewCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &options{flags: genericclioptions.NewConfigFlags(true), streams: streams}
	root := &cobra.Command{
		Use:   "kubectl hubkit",
		Short: "Run a Hub's runbooks, each as one command",
		Long: `kubectl hubkit runs the README's runbooks for a Hub that hubkit rendered (or any
singleton the singleton function declared): each is one command that waits for what it
does and prints a line per step with the time since it began.

It finds the Hub from its namespace's hubkit-singletons ConfigMap (the guard's
parameters, which the function writes); -n names the namespace (default hubkit), --hub
the Hub where the namespace has more than one.

Exit codes: 0 done (status: the Hub serves); 1 failed (what was done is printed; a
second run resumes); 2 refused, nothing changed (the message says why and the way out);
3 timed out (the message says how to check); 4 status: the Hub is not serving.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	o.flags.AddFlags(root.PersistentFlags())
	root.PersistentFlags().StringVar(&o.hub, "hub", "", "the singleton's workload name, where the namespace has more than one")
	root.PersistentFlags().StringVar(&o.volume, "volume", names.AppDataVolume, "the pod's volume of the claim that holds the Hub's data, where it mounts several (a copy's)")
	root.PersistentFlags().DurationVar(&o.timeout, "timeout", 5*time.Minute, "how long to wait for each step")
	root.AddCommand(statusCommand(o), stopCommand(o), startCommand(o), snapshotCommand(o), restoreCommand(o), restorePointsCommand(o), copyCommand(o), nodeLostCommand(o), nodeBackCommand(o), reportCommand(o))
	return root
}

// planned is a mutating command's RunE: it finds the Hub, reads its
// status, makes the command's plan from them (or refuses) and runs it, or
// prints it under --dry-run.
func (o *options) planned(make func(ctx context.Context, c *Clients, s *Status, args []string) (plan, error)) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		began := time.Now()
		c, h, err := o.connect(ctx)
		if err != nil {
			return err
		}
		s, err := c.status(ctx, h)
		if err != nil {
			return err
		}
		p, err := make(ctx, c, s, args)
		if err != nil {
			return err
		}
		return p.run(ctx, o.streams.Out, o.dryRun, began)
	}
}

// addDryRun gives a mutating command --dry-run.
func addDryRun(cmd *cobra.Command, o *options) {
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "print the kubectl lines the command would run, change nothing")
}

// Main runs kubectl hubkit with args and is its exit status.
func Main(ctx context.Context, args []string, streams genericiooptions.IOStreams) Code {
	cmd := NewCommand(streams)
	cmd.SetArgs(args)
	cmd.SetOut(streams.Out)
	cmd.SetErr(streams.ErrOut)
	err := cmd.ExecuteContext(ctx)
	code := CodeOf(err)
	switch code {
	case Done:
	case Refused:
		fmt.Fprintf(streams.ErrOut, "refused, nothing changed: %v\n", err)
	case TimedOut:
		fmt.Fprintf(streams.ErrOut, "timed out: %v\n", err)
	case Unhealthy:
		fmt.Fprintf(streams.ErrOut, "unhealthy: %v\n", err)
	default:
		fmt.Fprintf(streams.ErrOut, "error: %v\n", err)
	}
	return code
}
