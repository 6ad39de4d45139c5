package hubctl

import (
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
		RunE: func(cmd *cobra.Command, _ []string) error {
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
			p, err := c.snapshotSteps(ctx, s, class, names.RestorePointManual, o.timeout, began)
			if err != nil {
				return err
			}
			return p.run(ctx, o.streams.Out, o.dryRun, began)
		},
	}
	addDryRun(cmd, o)
	cmd.Flags().StringVar(&class, "class", "", "the VolumeSnapshotClass, where the claim's driver has several and no default")
	return cmd
}
