package singleton_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/fn/framework"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/hubkit/hubkit/plugin/singleton"
)

// Every folder under testdata/realworld is a stack someone else wrote, copied
// or rendered from its public source (SOURCE.md says which, and gather.sh
// rebuilds it), with the function config its user would write (config.yaml).
// Run as kustomize and kpt run the function, in audit and in enforce mode:
//   - the results are the recorded ones (audit.txt, enforce.txt; -update
//     rewrites them), and a run with an error changes nothing;
//   - enforce changes only the workloads its results name, and in them only
//     replicas, strategy and probes; every other item comes out byte for
//     byte as it went in;
//   - audit passes on enforce's output, and a second enforce changes nothing.
//
// Negative controls (replicated apps) must come out unchanged: their
// enforce.txt is empty.
func TestRealWorldStacks(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "realworld", "*", "manifests.yaml"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(dirs), 20, "the real-world corpus has at least 15 singleton stacks and its negative controls")
	for _, manifests := range dirs {
		dir := filepath.Dir(manifests)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			require.FileExists(t, filepath.Join(dir, "SOURCE.md"), "every stack names its source and licence")
			config := string(readFile(t, filepath.Join(dir, "config.yaml")))
			outputs := map[singleton.Mode][]byte{}
			for _, mode := range []singleton.Mode{singleton.Audit, singleton.Enforce} {
				rl := resourceList(t, manifests, withMode(t, config, mode))
				out, err := execute(rl)
				lines := resultLines(t, out)
				checkGolden(t, filepath.Join(dir, string(mode)+".txt"), lines)
				failed := slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "error ") })
				if failed {
					require.Error(t, err, "%s: an error result fails the run", mode)
					assert.Equal(t, listItems(t, rl), listItems(t, out), "%s: a failing run changes nothing", mode)
					continue
				}
				require.NoError(t, err, mode)
				outputs[mode] = out
			}
			enforced, ok := outputs[singleton.Enforce]
			if !ok {
				return
			}
			named := map[string]bool{}
			for _, r := range results(t, enforced) {
				if id := r.ResourceRef; id != nil {
					named[id.Kind+" "+id.Namespace+"/"+id.Name] = true
				}
			}
			changed, _ := onlyRuleFieldsChanged(t, resourceList(t, manifests, withMode(t, config, singleton.Enforce)), enforced)
			for _, c := range changed {
				assert.True(t, named[c], "%s changed, but no result names it", c)
			}

			audited, err := execute(withConfig(t, enforced, withMode(t, config, singleton.Audit)))
			assert.NoError(t, err, "audit passes on enforce's output: %v", resultLines(t, audited))
			again, err := execute(enforced)
			require.NoError(t, err)
			assert.Equal(t, listItems(t, enforced), listItems(t, again), "a second enforce changes nothing")
		})
	}
}

// withMode is a Singleton config with spec.mode set.
func withMode(t *testing.T, config string, mode singleton.Mode) string {
	t.Helper()
	n, err := yaml.Parse(config)
	require.NoError(t, err)
	require.NoError(t, n.PipeE(yaml.LookupCreate(yaml.MappingNode, "spec"), yaml.SetField("mode", yaml.NewStringRNode(string(mode)))))
	return n.MustString()
}

// withConfig is a ResourceList with its functionConfig replaced.
func withConfig(t *testing.T, rl []byte, config string) []byte {
	t.Helper()
	n, err := yaml.Parse(string(rl))
	require.NoError(t, err)
	require.NoError(t, n.PipeE(yaml.SetField("functionConfig", yaml.MustParse(config))))
	require.NoError(t, n.PipeE(yaml.Clear("results")))
	return []byte(n.MustString())
}

// results are a ResourceList's results.
func results(t *testing.T, rl []byte) framework.Results {
	t.Helper()
	var list struct {
		Results framework.Results `yaml:"results"`
	}
	require.NoError(t, yaml.Unmarshal(rl, &list))
	return list.Results
}

// resultLines is each result of a ResourceList on one line: severity, the
// resource, the field and the message.
func resultLines(t *testing.T, rl []byte) []string {
	t.Helper()
	var lines []string
	for _, r := range results(t, rl) {
		var b strings.Builder
		fmt.Fprintf(&b, "%s", r.Severity)
		if id := r.ResourceRef; id != nil {
			fmt.Fprintf(&b, " %s %s/%s", id.Kind, id.Namespace, id.Name)
		}
		if r.Field != nil {
			fmt.Fprintf(&b, " %s", r.Field.Path)
		}
		fmt.Fprintf(&b, ": %s", r.Message)
		lines = append(lines, strings.Join(strings.Fields(b.String()), " "))
	}
	return lines
}

// checkGolden compares lines with the file, or writes them under -update.
func checkGolden(t *testing.T, path string, lines []string) {
	t.Helper()
	got := strings.Join(lines, "\n")
	if got != "" {
		got += "\n"
	}
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -run TestRealWorldStacks -update to record the results")
	assert.Equal(t, string(bytes.TrimSpace(want)), strings.TrimSpace(got), "%s: results differ from the recorded ones", path)
}
