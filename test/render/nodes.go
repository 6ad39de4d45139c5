package render

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/kio"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/hubkit/hubkit/test/testenv"
)

// Nodes builds dir as users do, the functions of fns on PATH, and returns
// the render's objects as kyaml nodes, without the reader's annotations.
func Nodes(t *testing.T, fns *testenv.Functions, dir string) []*kyaml.RNode {
	t.Helper()
	fns.OnPath(t)
	out, err := Krusty(dir)
	require.NoError(t, err)
	nodes, err := (&kio.ByteReader{Reader: bytes.NewReader(out), OmitReaderAnnotations: true}).Read()
	require.NoError(t, err)
	return nodes
}
