package hubctl

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/wait"
)

func stopCommand(o *options) *cobra.Command {
	var pauseOwner bool
	cmd := &cobra.Command{
		Use:   "stop",
		Short: "Scale the Hub to 0 and wait until its pods are gone",
		Long: `stop scales the Hub to 0 (the guard allows it) and waits until no pod of it is
left, so that its claim is free: the first step of the copy and of every restore.

Refused while a GitOps tool that applies the Hub reconciles, since it would scale the
Hub back up: pass --pause-owner to pause it first (start --resume-owner resumes it).`,
		Args: cobra.NoArgs,
		RunE: o.planned(func(_ context.Context, c *Clients, s *Status, _ []string) (plan, error) {
			h := s.Hub
			var p plan
			if ow := s.Owner; ow != nil && ow.Reconciles {
				if !pauseOwner {
					return nil, refuse("%s applies %s/%s and reconciles: it would scale the Hub back up. Pass --pause-owner, or pause it yourself: %s", ow, h.Namespace, h.Ref(), c.pauseStep(ow, true).kubectl[0])
				}
				p = append(p, c.pauseStep(ow, true))
			}
			return append(p, c.scaleStep(h, 0), c.podsGoneStep(h, s.Selector, o.timeout)), nil
		}),
	}
	addDryRun(cmd, o)
	cmd.Flags().BoolVar(&pauseOwner, "pause-owner", false, "pause the Argo CD Application or Flux Kustomization that applies the Hub first")
	return cmd
}

func startCommand(o *options) *cobra.Command {
	var resumeOwner bool
	cmd := &cobra.Command{
		Use:   "start",
		Short: "Scale the Hub back up and wait until it serves",
		Long: `start scales the Hub to its count (1, or an HA group's members) and waits until a
Service sends to a ready pod of it.

Refused when a claim of the Hub is missing or not Bound: its pod would wait Pending
(restore the claim first, or apply the overlay to make it anew, empty). --resume-owner
resumes a paused GitOps tool once the Hub serves.`,
		Args: cobra.NoArgs,
		RunE: o.planned(func(_ context.Context, c *Clients, s *Status, _ []string) (plan, error) {
			h := s.Hub
			for _, cl := range s.Claims {
				if cl.Phase != "Bound" && cl.Phase != "Pending" {
					return nil, refuse("claim %s of %s/%s is %s: the Hub would wait Pending; restore it first, or apply the overlay to make it anew, empty", cl.Name, h.Namespace, h.Ref(), cl.Phase)
				}
			}
			p := plan{c.scaleStep(h, int32(h.Members)), c.servingStep(h, o.timeout)}
			if ow := s.Owner; ow != nil && resumeOwner && !ow.Reconciles && ow.Unknown == "" {
				p = append(p, c.pauseStep(ow, false))
			}
			return p, nil
		}),
	}
	addDryRun(cmd, o)
	cmd.Flags().BoolVar(&resumeOwner, "resume-owner", false, "resume the paused Argo CD Application or Flux Kustomization once the Hub serves")
	return cmd
}

func (c *Clients) scaleStep(h Hub, replicas int32) step {
	return step{
		what:    fmt.Sprintf("%s scaled to %d", h.Ref(), replicas),
		kubectl: []string{fmt.Sprintf("kubectl -n %s scale %s --replicas=%d", h.Namespace, h.Ref(), replicas)},
		do:      func(ctx context.Context) error { return c.scale(ctx, h, replicas) },
	}
}

// podsGoneStep waits until no pod of the Hub is left.
func (c *Clients) podsGoneStep(h Hub, selector string, timeout time.Duration) step {
	return step{
		what:    "the Hub's pods gone",
		kubectl: []string{fmt.Sprintf("kubectl -n %s wait --for=delete pod -l %s --timeout=%s", h.Namespace, selector, kubectlDuration(timeout))},
		do: func(ctx context.Context) error {
			err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
				pods, err := c.pods(ctx, h.Namespace, selector)
				return len(pods) == 0, err
			})
			if wait.Interrupted(err) {
				return &Error{Code: TimedOut, Err: fmt.Errorf("a pod of %s/%s is still there after %s: kubectl -n %s get pods -l %s", h.Namespace, h.Ref(), timeout, h.Namespace, selector)}
			}
			return err
		},
	}
}

// servingStep waits until a Service sends to a ready pod of the Hub.
func (c *Clients) servingStep(h Hub, timeout time.Duration) step {
	return step{
		what:    "the Hub serving",
		kubectl: []string{fmt.Sprintf("kubectl -n %s rollout status %s --timeout=%s", h.Namespace, h.Ref(), kubectlDuration(timeout))},
		do: func(ctx context.Context) error {
			err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
				s, err := c.status(ctx, h)
				if err != nil {
					return false, err
				}
				return s.Serving, nil
			})
			if wait.Interrupted(err) {
				return &Error{Code: TimedOut, Err: fmt.Errorf("%s/%s is not serving after %s: kubectl hubkit -n %s status", h.Namespace, h.Ref(), timeout, h.Namespace)}
			}
			return err
		},
	}
}
