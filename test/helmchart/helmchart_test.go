package helmchart

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/hubkit/hubkit/test/pins"
)

// MinIO's chart, at its pin, is chart minio 5.4.0 in the module cache.
func TestFindsMinIOsChartInItsModule(t *testing.T) {
	dir, err := ModuleChart(context.Background(), pins.Get(t, MinIOModulePin), pins.Get(t, MinIOPathPin))
	require.NoError(t, err)
	data, err := os.ReadFile(filepath.Join(dir, "Chart.yaml"))
	require.NoError(t, err)
	var chart struct{ Name, Version string }
	require.NoError(t, yaml.Unmarshal(data, &chart))
	assert.Equal(t, "minio", chart.Name)
	assert.Equal(t, "5.4.0", chart.Version)
}

// A directory of the module that holds no chart is an error that names it.
func TestRefusesADirectoryWithoutAChart(t *testing.T) {
	_, err := ModuleChart(context.Background(), pins.Get(t, "MINIO_CHART_MODULE"), "helm")
	assert.ErrorContains(t, err, "the chart helm in github.com/minio/minio@")
	assert.ErrorContains(t, err, "Chart.yaml: no such file or directory")
}
