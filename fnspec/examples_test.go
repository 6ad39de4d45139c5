package fnspec_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/fn/framework"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
	k8syaml "sigs.k8s.io/yaml"

	"github.com/hubkit/hubkit/fnspec"
	"github.com/hubkit/hubkit/plugin/singleton"
)

// A Redis StatefulSet with 3 replicas and no probes, on a claim made elsewhere.
const redis = `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: redis
  namespace: cache
spec:
  replicas: 3
  serviceName: redis
  selector:
    matchLabels:
      app: redis
  template:
    metadata:
      labels:
        app: redis
    spec:
      containers:
      - name: redis
        image: redis:7
        ports:
        - name: redis
          containerPort: 6379
      volumes:
      - name: data
        persistentVolumeClaim:
          claimName: redis-data
`

// Every example the definition lists exists, passes the schema, and runs:
// the Hub's and Redis's configs are run on a workload they are written for.
func TestEveryExampleLoadsAndRuns(t *testing.T) {
	var def framework.KRMFunctionDefinition
	require.NoError(t, k8syaml.Unmarshal([]byte(fnspec.Definition()), &def))
	require.Len(t, def.Spec.Versions, 1)
	examples := def.Spec.Versions[0].Examples
	listed, err := filepath.Glob(filepath.Join("examples", "*.yaml"))
	require.NoError(t, err)
	assert.ElementsMatch(t, listed, examples, "singleton.yaml lists exactly the files in examples/")

	for _, path := range examples {
		t.Run(path, func(t *testing.T) {
			raw, err := os.ReadFile(path)
			require.NoError(t, err)
			spec, err := singleton.LoadSpec(yaml.MustParse(string(raw)))
			require.NoError(t, err)
			if path != filepath.Join("examples", "redis.yaml") {
				return
			}
			var out bytes.Buffer
			rl := "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n" + indent(redis) + "functionConfig:\n" + indentBy(string(raw), "  ")
			require.Equal(t, singleton.Enforce, spec.Mode)
			require.NoError(t, framework.Execute(singleton.Processor{}, &kio.ByteReadWriter{Reader: strings.NewReader(rl), Writer: &out}))
			assert.Contains(t, out.String(), "replicas: 1")
			assert.Contains(t, out.String(), "startupProbe:\n            tcpSocket:\n              port: redis\n            periodSeconds: 10\n            timeoutSeconds: 5\n            failureThreshold: 6")
		})
	}
}

// The README documents every rule the function has, by its ID.
func TestReadmeDocumentsEveryRule(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	for _, id := range singleton.RuleIDs() {
		assert.Contains(t, string(readme), "| `"+id+"` |", "fnspec/README.md has no row for rule %s", id)
	}
}

func indentBy(s, prefix string) string {
	return prefix + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+prefix) + "\n"
}

func indent(s string) string {
	lines := strings.SplitAfter(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		prefix := "  "
		if i == 0 {
			prefix = "- "
		}
		lines[i] = prefix + l
	}
	return strings.Join(lines, "") + "\n"
}
