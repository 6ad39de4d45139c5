package restorepoint

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestAVersionIsTheImagesTagOrItsDigest(t *testing.T) {
	for image, want := range map[string]string{
		"registry.example.com/highbyte/intelligence-hub:4.3.3@sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270": "4.3.3",
		"localhost:5000/hub:4.4.0": "4.4.0",
		"localhost:5000/hub@sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0": "sha256-5b0bcabd1ed2",
		"localhost:5000/hub": "latest",
	} {
		assert.Equal(t, want, VersionOf(image), image)
	}
}

func TestARestorePointIsNamedForItsClaimVersionAndTime(t *testing.T) {
	at := time.Date(2026, 12, 7, 5, 30, 28, 0, time.UTC)
	assert.Equal(t, "hbih-appdata-4.3.3-20261207-053028", Name("hbih-appdata", "4.3.3", at))
	assert.Equal(t, "hbih-appdata-sha256-5b0bcabd1ed2-20261207-053028", Name("hbih-appdata", "sha256-5b0bcabd1ed2", at))
	assert.Equal(t, "data-v1-rc-1-20261207-053028", Name("data", "V1_rc+1", at), "lowercase, and what a name may not hold as -")
}
