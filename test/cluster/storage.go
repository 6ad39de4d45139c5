package cluster

import (
	"context"
	"fmt"
	"io/fs"
	"os"

	"github.com/hubkit/hubkit/test/csidriver"
)

// installStorage applies, before the real node starts, the cluster's side
// of its storage: the CRDs of Options.CRDs (the VolumeSnapshot API's, which
// snapshot-controller wants served at its start), then, when the node runs
// the CSI driver, csidriver.Manifests: its CSIDriver, the default
// StorageClass (WaitForFirstConsumer, expandable) and the default
// VolumeSnapshotClass. The Applier waits for a CRD's kinds to be served.
func (c *Cluster) installStorage(ctx context.Context, o Options) error {
	a, err := c.NewApplier()
	if err != nil {
		return err
	}
	var docs [][]byte
	for _, f := range o.CRDs {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("CRD: %w", err)
		}
		docs = append(docs, b)
	}
	if o.RealNode != nil && o.RealNode.CSI != nil {
		files, err := fs.Glob(csidriver.Manifests, "manifests/*.yaml")
		if err != nil {
			return err
		}
		for _, f := range files {
			b, err := fs.ReadFile(csidriver.Manifests, f)
			if err != nil {
				return err
			}
			docs = append(docs, b)
		}
	}
	for _, b := range docs {
		objs, err := Objects(b)
		if err != nil {
			return err
		}
		if err := a.Apply(ctx, objs, false); err != nil {
			return fmt.Errorf("the cluster's storage: %w", err)
		}
	}
	return nil
}
