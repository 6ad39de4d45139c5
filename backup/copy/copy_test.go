package appdatacopy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"

	"github.com/hubkit/hubkit/internal/names"
)

// kubectl hubkit reads the files the runbooks apply, as their kinds: the
// copy's claim, and two Jobs the guard admits for their reason.
func TestTheRunbooksFilesReadAsTheirKinds(t *testing.T) {
	c, err := Claim()
	require.NoError(t, err)
	assert.Equal(t, "hbih-appdata-copy", c.Name)
	for _, tc := range []struct {
		read func() (*batchv1.Job, error)
		name string
	}{
		{CopyJob, "hbih-appdata-copy"},
		{RestoreJob, "hbih-appdata-restore"},
	} {
		j, err := tc.read()
		require.NoError(t, err)
		assert.Equal(t, tc.name, j.Name)
		assert.NotEmpty(t, j.Spec.Template.Annotations[names.ClaimAccessReasonAnnotation], "%s says why it mounts the Hub's claim", j.Name)
	}
}
