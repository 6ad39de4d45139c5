package hubctl

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

func statusCommand(o *options) *cobra.Command {
	var output string
	var watch bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "The Hub on one screen; exits 0 only while it serves",
		Long: `status shows the Hub's workload, its pods (node, restarts, last exit), whether a
Service sends to a ready pod of it, its claims, its newest restore point (age, version),
whether the guard is installed and denies, and the GitOps tool that applies it (and
whether it would undo a change made beside it).

It exits 0 when the Hub serves and 4 when it does not, so a script can wait on it.
--watch prints it again every two seconds until interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "" && output != "json" {
				return refuse("-o %s: status writes text (the default) or json", output)
			}
			ctx := cmd.Context()
			c, h, err := o.connect(ctx)
			if err != nil {
				return err
			}
			for {
				s, err := c.status(ctx, h)
				if err != nil {
					return err
				}
				if output == "json" {
					enc := json.NewEncoder(o.streams.Out)
					enc.SetIndent("", "  ")
					if err := enc.Encode(s); err != nil {
						return err
					}
				} else if err := s.write(o.streams.Out, time.Now()); err != nil {
					return err
				}
				if !watch {
					if !s.Serving {
						return &Error{Code: Unhealthy, Err: fmt.Errorf("%s/%s is not serving", h.Namespace, h.Ref())}
					}
					return nil
				}
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(2 * time.Second):
					fmt.Fprintln(o.streams.Out)
				}
			}
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "json, or the one screen")
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "print the status again every two seconds")
	return cmd
}
