package csidriver

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	storagev1 "k8s.io/api/storage/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/hubkit/hubkit/test/pins"
)

func manifest(t *testing.T, name string, into any) {
	t.Helper()
	data, err := Manifests.ReadFile("manifests/" + name)
	require.NoError(t, err)
	require.NoError(t, yaml.UnmarshalStrict(data, into), "%s: every field is one of its kind's", name)
}

// The manifests name the driver as it registers, and say what it is: no
// attach step, fsGroup applied, volumes bound where their pod goes, able to
// grow; the snapshot class is the default and Velero's.
func TestManifests(t *testing.T) {
	var driver storagev1.CSIDriver
	manifest(t, "csidriver.yaml", &driver)
	assert.Equal(t, DriverName, driver.Name)
	assert.False(t, *driver.Spec.AttachRequired, "the driver has no ControllerPublishVolume")
	assert.Equal(t, storagev1.FileFSGroupPolicy, *driver.Spec.FSGroupPolicy)

	var class storagev1.StorageClass
	manifest(t, "storageclass.yaml", &class)
	assert.Equal(t, DriverName, class.Provisioner)
	assert.Equal(t, "true", class.Annotations["storageclass.kubernetes.io/is-default-class"])
	assert.Equal(t, storagev1.VolumeBindingWaitForFirstConsumer, *class.VolumeBindingMode, "a volume lives on its pod's node")
	assert.True(t, *class.AllowVolumeExpansion)
	assert.Empty(t, class.Parameters, "the driver takes no parameters")

	// The snapshot class against the snapshot API's own CRD.
	var snapClass struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Metadata   map[string]any    `json:"metadata"`
		Driver     string            `json:"driver"`
		Deletion   string            `json:"deletionPolicy"`
		Parameters map[string]string `json:"parameters,omitempty"`
	}
	manifest(t, "volumesnapshotclass.yaml", &snapClass)
	assert.Equal(t, DriverName, snapClass.Driver)
	crd := snapshotCRD(t, "volumesnapshotclasses")
	assert.Equal(t, crd.Spec.Names.Kind, snapClass.Kind)
	served := false
	for _, v := range crd.Spec.Versions {
		if crd.Spec.Group+"/"+v.Name == snapClass.APIVersion {
			served = v.Served
			assert.Contains(t, v.Schema.OpenAPIV3Schema.Properties, "driver")
			assert.Contains(t, v.Schema.OpenAPIV3Schema.Properties["deletionPolicy"].Enum, apiextensionsv1.JSON{Raw: []byte(`"` + snapClass.Deletion + `"`)})
		}
	}
	assert.True(t, served, "%s is served by %s", snapClass.APIVersion, pins.Get(t, "SNAPSHOT_API_MODULE"))
}

// snapshotCRD reads a CRD of the snapshot API from the Go module cache.
func snapshotCRD(t *testing.T, plural string) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", pins.Get(t, "SNAPSHOT_API_MODULE")).Output()
	require.NoError(t, err)
	var mod struct{ Dir string }
	require.NoError(t, json.Unmarshal(out, &mod))
	data, err := os.ReadFile(filepath.Join(mod.Dir, "config", "crd", "snapshot.storage.k8s.io_"+plural+".yaml"))
	require.NoError(t, err)
	var crd apiextensionsv1.CustomResourceDefinition
	require.NoError(t, yaml.Unmarshal(data, &crd))
	return &crd
}
