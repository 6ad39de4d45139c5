package singleton_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/fn/framework"
	"sigs.k8s.io/kustomize/kyaml/fn/framework/frameworktestutil"
	"sigs.k8s.io/kustomize/kyaml/kio"

	"github.com/hubkit/hubkit/plugin/resourcelist"
	"github.com/hubkit/hubkit/plugin/singleton"
)

var update = flag.Bool("update", false, "rewrite expected.yaml of the cases without errors.txt from the actual output")

// Every folder under testdata is one behaviour: input.yaml is the ResourceList
// that kustomize or kpt sends, expected.yaml the ResourceList that must come
// back (results included), byte for byte, errors.txt the errors a failing
// case must report (one regular expression a line). The function runs as it
// ships (resourcelist.Execute): the items no fix changes come back as their input's bytes.
func TestGoldenCases(t *testing.T) {
	for _, dir := range caseDirs(t) {
		t.Run(dir, func(t *testing.T) {
			input := readFile(t, filepath.Join(dir, "input.yaml"))
			var out bytes.Buffer
			err := resourcelist.Execute(singleton.Processor{}, bytes.NewReader(input), &out)
			if wantErrs, rerr := os.ReadFile(filepath.Join(dir, "errors.txt")); rerr == nil {
				require.Error(t, err)
				frameworktestutil.RequireEachLineMatches(t, string(wantErrs), err.Error())
				return
			}
			require.NoError(t, err)
			if *update {
				require.NoError(t, os.WriteFile(filepath.Join(dir, "expected.yaml"), out.Bytes(), 0o644))
			}
			assert.Equal(t, string(readFile(t, filepath.Join(dir, "expected.yaml"))), out.String())
		})
	}
}

// On kyaml's reader and writer (framework.Execute, where Execute falls back
// for what it cannot read as kyaml does), the processor gives every case the
// same items and results, as kyaml reads them: kyaml writes every item anew,
// drops the reader's index annotations and its own bookkeeping annotation.
func TestGoldenCasesOnKyaml(t *testing.T) {
	checker := frameworktestutil.ProcessorResultsChecker{
		TestDataDirectory:   "testdata",
		Processor:           func() framework.ResourceListProcessor { return singleton.Processor{} },
		OutputAssertionFunc: sameAsKyamlReadsIt,
	}
	checker.Assert(t)
}

// sameAsKyamlReadsIt compares two ResourceLists as kyaml reads and writes them.
func sameAsKyamlReadsIt(t *testing.T, expected, actual string) {
	t.Helper()
	assert.Equal(t, kyamlWrites(t, expected), kyamlWrites(t, actual))
}

func kyamlWrites(t *testing.T, rl string) string {
	t.Helper()
	var out bytes.Buffer
	rw := &kio.ByteReadWriter{Reader: strings.NewReader(rl), Writer: &out}
	nodes, err := rw.Read()
	require.NoError(t, err)
	for i, n := range nodes {
		nodes[i] = withoutBookkeeping(n)
	}
	require.NoError(t, rw.Write(nodes))
	return out.String()
}

// A failing run changes nothing: its items come back as their bytes.
func TestFailingCasesChangeNothing(t *testing.T) {
	for _, dir := range caseDirs(t) {
		if _, err := os.Stat(filepath.Join(dir, "errors.txt")); err != nil {
			continue
		}
		t.Run(dir, func(t *testing.T) {
			input := readFile(t, filepath.Join(dir, "input.yaml"))
			out, err := execute(input)
			require.Error(t, err)
			assert.Equal(t, listItems(t, input), listItems(t, out))
		})
	}
}

// Running the function on its own output changes nothing the second time,
// byte for byte.
func TestSecondRunChangesNothing(t *testing.T) {
	for _, dir := range caseDirs(t) {
		if _, err := os.Stat(filepath.Join(dir, "expected.yaml")); err != nil {
			continue
		}
		t.Run(dir, func(t *testing.T) {
			first := readFile(t, filepath.Join(dir, "expected.yaml"))
			second, err := execute(first)
			require.NoError(t, err)
			assert.Equal(t, listItems(t, first), listItems(t, second))
		})
	}
}

func caseDirs(t *testing.T) []string {
	t.Helper()
	var dirs []string
	require.NoError(t, filepath.WalkDir("testdata", func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == "input.yaml" {
			dirs = append(dirs, filepath.Dir(path))
		}
		return err
	}))
	require.NotEmpty(t, dirs)
	return dirs
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}
