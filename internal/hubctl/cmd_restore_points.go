package hubctl

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hubkit/hubkit/internal/names"
	"github.com/hubkit/hubkit/internal/restorepoint"
)

func restorePointsCommand(o *options) *cobra.Command {
	var output string
	var keep int
	cmd := &cobra.Command{
		Use:   "restore-points",
		Short: "List the Hub's restore points; --keep N deletes all but the newest N",
		Long: `restore-points lists the VolumeSnapshots of the Hub's claims, newest first: name,
age, whether ready, the Hub's version they hold, who took them (manual, before-upgrade,
or none: taken another way).

--keep N deletes all but the newest N, and never the newest restore point taken before
an upgrade (the one a rollback needs) nor one still being taken.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			began := time.Now()
			if output != "" && output != "json" {
				return refuse("-o %s: restore-points writes text (the default) or json", output)
			}
			c, h, err := o.connect(ctx)
			if err != nil {
				return err
			}
			points, notServed, err := c.restorePoints(ctx, h)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("keep") {
				if keep < 1 {
					return refuse("--keep %d: keep at least the newest restore point", keep)
				}
				return c.pruneSteps(h, points, keep).run(ctx, o.streams.Out, o.dryRun, began)
			}
			if output == "json" {
				enc := json.NewEncoder(o.streams.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(points)
			}
			if notServed != "" {
				fmt.Fprintln(o.streams.Out, notServed)
				return nil
			}
			w := tabwriter.NewWriter(o.streams.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tCLAIM\tAGE\tREADY\tVERSION\tTAKEN\tSIZE")
			for _, rp := range points {
				fmt.Fprintf(w, "%s\t%s\t%s\t%t\t%s\t%s\t%s\n", rp.Name, rp.Claim, since(began, rp.Created.Time), rp.Ready, orNone(rp.Version), orNone(rp.TakenBy), rp.RestoreSize)
			}
			return w.Flush()
		},
	}
	addDryRun(cmd, o)
	cmd.Flags().StringVarP(&output, "output", "o", "", "json, or a table")
	cmd.Flags().IntVar(&keep, "keep", 0, "delete all but the newest N (never the newest taken before an upgrade)")
	return cmd
}

// pruned is what --keep deletes of points (newest first): all but the
// newest keep, never the newest before an upgrade nor one still being
// taken (not ready, no error).
func pruned(points []restorepoint.Point, keep int) []restorepoint.Point {
	var out []restorepoint.Point
	upgrade := false
	for i, rp := range points {
		lastUpgrade := rp.TakenBy == names.RestorePointUpgrade && rp.Ready && !upgrade
		if lastUpgrade {
			upgrade = true
		}
		if i < keep || lastUpgrade || !rp.Ready && rp.Error == "" {
			continue
		}
		out = append(out, rp)
	}
	return out
}

func (c *Clients) pruneSteps(h Hub, points []restorepoint.Point, keep int) plan {
	var p plan
	for _, rp := range pruned(points, keep) {
		name := rp.Name
		p = append(p, step{
			what:    fmt.Sprintf("volumesnapshot/%s deleted (%s old)", name, time.Since(rp.Created.Time).Round(time.Second)),
			kubectl: []string{fmt.Sprintf("kubectl -n %s delete volumesnapshot %s", h.Namespace, name)},
			do: func(ctx context.Context) error {
				err := c.Dynamic.Resource(restorepoint.VolumeSnapshots).Namespace(h.Namespace).Delete(ctx, name, metav1.DeleteOptions{})
				if err != nil {
					return fmt.Errorf("delete VolumeSnapshot %s/%s: %w", h.Namespace, name, err)
				}
				return nil
			},
		})
	}
	return p
}
