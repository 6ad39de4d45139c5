package hubctl

import (
	"context"

	"github.com/spf13/cobra"
)

func restoreCommand(o *options) *cobra.Command {
	var ro restoreOptions
	cmd := &cobra.Command{
		Use:   "restore (--from-snapshot NAME | --from-copy)",
		Short: "The Hub back from a restore point, or from the copy: stopped, its data put back, started",
		Long: `restore is the README's runbook "the Hub back from a snapshot" (a lost volume, an
upgrade to roll back): the Hub scaled to 0 and its pods gone, its claim deleted and made
again under the same name from the snapshot, the Hub scaled back up and serving. The
claim keeps its labels, annotations, class and size, so the workload and the GitOps tool
find it as Git has it.

Refused, with nothing changed, when the snapshot is not the Hub's claim's or not ready to
use; when it holds another version's data than the Hub's image (set the old tag back in
Git first: an upgrade rolled back; or --allow-version); when it holds more than the claim
asks (raise the claim's size in Git); and while a GitOps tool that applies the Hub
reconciles (it would scale the Hub back up and make the claim anew, empty): --pause-owner
pauses it and resumes it once the Hub serves.

A restore under way is recorded in a ConfigMap (<hub>-restore): interrupted, the same
command again resumes it.

--from-copy is the runbook "the Hub back from the copy", where there are no CSI
snapshots: the Hub stopped, backup/copy's restore Job run (it empties the claim and
copies the copy in; without a whole copy it does nothing), the Hub started. Refused
where there is no copy (kubectl hubkit copy takes one) and while a GitOps tool
reconciles, as above.`,
		Args: cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if (ro.snapshot == "") == !ro.fromCopy {
				return refuse("name the restore point with --from-snapshot (kubectl hubkit restore-points lists them), or restore --from-copy")
			}
			return nil
		},
		RunE: o.planned(func(ctx context.Context, c *Clients, s *Status, _ []string) (plan, error) {
			if ro.fromCopy {
				return c.copySteps(ctx, s, true, ro.pauseOwner, o.timeout)
			}
			return c.restoreFromSnapshot(ctx, s, ro, o.timeout)
		}),
	}
	addDryRun(cmd, o)
	cmd.Flags().StringVar(&ro.snapshot, "from-snapshot", "", "the VolumeSnapshot to restore (kubectl hubkit restore-points)")
	cmd.Flags().BoolVar(&ro.fromCopy, "from-copy", false, "restore the copy backup/copy took (kubectl hubkit copy), where there are no CSI snapshots")
	cmd.Flags().BoolVar(&ro.allowVersion, "allow-version", false, "restore a snapshot of another version than the Hub's image")
	cmd.Flags().BoolVar(&ro.pauseOwner, "pause-owner", false, "pause the GitOps tool that applies the Hub, and resume it once the Hub serves")
	return cmd
}
