package pins

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubkit/hubkit/test/testenv"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     map[string]string
		err      string
	}{
		{name: "assignments, comments and blank lines", in: "# c\n\nA := x@v1\nB ?= v2\n", want: map[string]string{"A": "x@v1", "B": "v2"}},
		{name: "a line that is no assignment", in: "A = x\n", err: `tools/pins.mk:1: want NAME := value, got "A = x"`},
		{name: "a pin without a value", in: "A :=\n", err: "tools/pins.mk:1: want NAME := value"},
		{name: "a pin given twice", in: "A := 1\nA := 2\n", err: "tools/pins.mk:2: A is pinned twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.in))
			if tc.err != "" {
				assert.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// The repository's pins parse, and every package or module pin names its
// version: a release, or a commit's pseudo-version where the module has no
// release. A <NAME>_PATH pin is a directory inside the module <NAME>_MODULE
// pins (a chart's).
func TestTheRepositorysPinsParse(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), File))
	require.NoError(t, err)
	pins, err := Parse(data)
	require.NoError(t, err)
	require.NotEmpty(t, pins)
	for name, v := range pins {
		if base, ok := strings.CutSuffix(name, "_PATH"); ok {
			assert.Regexp(t, `^[a-z0-9_-]+(/[a-z0-9_.-]+)*$`, v, "%s: a directory inside the module", name)
			assert.NotContains(t, v, "..", name)
			assert.Contains(t, pins, base+"_MODULE", "%s: the module it is a directory of", name)
			continue
		}
		assert.Regexp(t, `^[a-z0-9./-]+@v[0-9]+\.[0-9]+\.[0-9]+(-[0-9]{14}-[0-9a-f]{12})?$`, v, "%s", name)
	}
}
