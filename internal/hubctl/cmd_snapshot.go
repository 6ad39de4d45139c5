package hubctl

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/hubkit/hubkit/internal/names"
)

func snapshotCommand(o *options) *cobra.Command {
	var class string
	cmd := &cobra.Command{
		Use:   "snapshot",
		Short: "Take a restore point: a VolumeSnapshot of the Hub's claim, waited for until ready",
		Long: `snapshot takes a VolumeSnapshot of each of the Hub's claims while the Hub runs
(crash-consistent, as after a power cut), labelled a restore point of the Hub's version,
and waits until it is ready to use. It fails at once on the snapshot's own error.

Refused, with the way out, where the claim cannot be snapshotted: a volume that is not
CSI, or no VolumeSnapshotClass for its driver (take the copy instead: docs/backup.md,
"Without CSI snapshots"), or a driver with several classes and no default (--class).`,
		Args: cobra.NoArgs,
		RunE: o.planned(func(ctx context.Context, c *Clients, s *Status, _ []string) (plan, error) {
			return c.snapshotSteps(ctx, s, class, names.RestorePointManual, o.timeout, time.Now())
		}),
	}
	addDryRun(cmd, o)
	cmd.Flags().StringVar(&class, "class", "", "the VolumeSnapshotClass, where the claim's driver has several and no default")
	return cmd
}
