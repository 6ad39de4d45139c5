package hubctl

import (
	"context"

	"github.com/spf13/cobra"
)

func copyCommand(o *options) *cobra.Command {
	var pauseOwner bool
	cmd := &cobra.Command{
		Use:   "copy",
		Short: "Where there are no CSI snapshots: a copy of appData, taken while the Hub is stopped",
		Long: `copy is the runbook "a copy without CSI snapshots" (docs/backup.md): the Hub scaled
to 0 and its pods gone, the copy's claim made once (<claim>-copy, as large as the Hub's),
backup/copy's Job run anew until it completes (the copy replaces the last one only once
whole), the Hub started and serving. The Hub is down for the copy's time.

Refused while a GitOps tool that applies the Hub reconciles (it would scale the Hub back
up under the copy): --pause-owner pauses it and resumes it once the Hub serves.`,
		Args: cobra.NoArgs,
		RunE: o.planned(func(ctx context.Context, c *Clients, s *Status, _ []string) (plan, error) {
			return c.copySteps(ctx, s, false, pauseOwner, o.timeout)
		}),
	}
	addDryRun(cmd, o)
	cmd.Flags().BoolVar(&pauseOwner, "pause-owner", false, "pause the GitOps tool that applies the Hub, and resume it once the Hub serves")
	return cmd
}
