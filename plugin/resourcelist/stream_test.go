package resourcelist

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/kio"
)

// Whatever stream kyaml reads, writing its items back unchanged (Stream,
// the bytes of each document it leaves alone) gives a stream kyaml reads
// as the same items: keeping the bytes never changes what they say.
func FuzzStreamKeepsWhatItReads(f *testing.F) {
	for _, seed := range []string{
		"a: 1\n",
		"---\n# Source: c/t.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name:   \"x\"\ndata:\n  s: |-\n    one\n    \n    two\t\n---\nb: [1,2]\n",
		"a: |\n  ---\n  x\n---\nb: 2\n...\n---\nc: 3",
		"%YAML 1.2\n---\na: 1\n",
		"a: 1\r\n---\r\nb: 2\r\n",
		"--- {a: 1}\n--- b: 2\n",
		"---\n---\n# only a comment\n---\na: &x 1\nb: *x\n",
		"-",   // finding 10 (docs/fuzzing.md): kyaml's writer panicked on a sequence item
		"000", // a scalar item, which kyaml cannot write either
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		want, err := (&kio.ByteReader{Reader: strings.NewReader(in), OmitReaderAnnotations: true}).Read()
		if err != nil {
			return
		}
		for _, n := range want {
			if _, err := kyamlWrites(n); err != nil {
				return // kyaml cannot write it either (a scalar item): Write fails as ByteWriter does
			}
		}
		s := &Stream{}
		require.NoError(t, s.read("-", strings.NewReader(in)))
		var out bytes.Buffer
		require.NoError(t, s.Write(&out, s.Items))
		got, err := (&kio.ByteReader{Reader: bytes.NewReader(out.Bytes()), OmitReaderAnnotations: true}).Read()
		require.NoError(t, err, "kyaml reads what Stream wrote:\n%s", out.String())
		require.Len(t, got, len(want), "as many items:\n%s", out.String())
		for i := range want {
			w, err := kyamlWrites(want[i])
			require.NoError(t, err)
			g, err := kyamlWrites(got[i])
			require.NoError(t, err)
			assert.Equal(t, w, g, "item %d", i)
		}
	})
}
