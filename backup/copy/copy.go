// Package appdatacopy is backup/copy's objects as kubectl hubkit takes
// them: the copy's claim and its two Jobs, read from the very files the
// runbooks apply (docs/backup.md, "Without CSI snapshots"), for a Hub's
// namespace and claim.
package appdatacopy

import (
	_ "embed"
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

var (
	//go:embed claim.yaml
	claimFile []byte
	//go:embed copy-job.yaml
	copyJobFile []byte
	//go:embed restore-job.yaml
	restoreJobFile []byte
)

// The files, as the runbooks name them.
const (
	ClaimFile      = "backup/copy/claim.yaml"
	CopyJobFile    = "backup/copy/copy-job.yaml"
	RestoreJobFile = "backup/copy/restore-job.yaml"
)

// Claim is the copy's claim.
func Claim() (*corev1.PersistentVolumeClaim, error) {
	c := &corev1.PersistentVolumeClaim{}
	if err := yaml.UnmarshalStrict(claimFile, c); err != nil {
		return nil, fmt.Errorf("%s: %w", ClaimFile, err)
	}
	return c, nil
}

// CopyJob is the Job that copies appData onto the copy's claim.
func CopyJob() (*batchv1.Job, error) { return job(CopyJobFile, copyJobFile) }

// RestoreJob is the Job that puts the copy back onto the Hub's claim.
func RestoreJob() (*batchv1.Job, error) { return job(RestoreJobFile, restoreJobFile) }

func job(name string, b []byte) (*batchv1.Job, error) {
	j := &batchv1.Job{}
	if err := yaml.UnmarshalStrict(b, j); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return j, nil
}
