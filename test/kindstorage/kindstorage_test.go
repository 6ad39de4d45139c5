package kindstorage

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestManifestEvaluatesConstantStrings(t *testing.T) {
	for _, tc := range []struct {
		name, src, want, err string
	}{
		{name: "a raw string", src: "const defaultStorageManifest = `a: b`", want: "a: b"},
		{name: "images substituted", src: "const img = \"x:1\"\nconst defaultStorageManifest = `image: ` + img + `\n`", want: "image: x:1\n"},
		{name: "in a const block", src: "const (\n\ta = \"1\"\n\tdefaultStorageManifest = a + (\"2\")\n)", want: "12"},
		{name: "missing", src: "const other = \"x\"", err: "has no constant defaultStorageManifest"},
		{name: "not a string", src: "const defaultStorageManifest = 1", err: "is not a string"},
		{name: "an unknown constant", src: "const defaultStorageManifest = `a` + b", err: "no constant b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, source)
			require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
			require.NoError(t, os.WriteFile(path, []byte("package nodeimage\n\n"+tc.src+"\n"), 0o644))
			got, err := Manifest(dir)
			if tc.err != "" {
				assert.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(got))
		})
	}
}

// The kind go.mod pins installs local-path-provisioner as its default
// StorageClass, with a helper image of its own.
func TestKindsManifestIsLocalPathProvisioner(t *testing.T) {
	dir, err := ModuleDir(context.Background())
	require.NoError(t, err)
	m, err := Manifest(dir)
	require.NoError(t, err)
	for _, want := range []string{
		"provisioner: rancher.io/local-path", "name: standard", `storageclass.kubernetes.io/is-default-class: "true"`,
		"volumeBindingMode: WaitForFirstConsumer", "name: local-path-config", "helperPod.yaml", "image: docker.io/kindest/local-path-helper:",
	} {
		assert.Contains(t, string(m), want)
	}
}
