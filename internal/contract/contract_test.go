package contract_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/hubkit/hubkit/internal/contract"
	"github.com/hubkit/hubkit/internal/hub"
	"github.com/hubkit/hubkit/internal/overlays"
	"github.com/hubkit/hubkit/plugin/singleton"
	"github.com/hubkit/hubkit/test/render"
	"github.com/hubkit/hubkit/test/testenv"
)

var fns testenv.Functions

func TestMain(m *testing.M) { fns.Main(m) }

// prodRow is prod's row of the overlay table: the cases below break its promises.
func prodRow(t *testing.T) overlays.Overlay {
	t.Helper()
	table, err := overlays.Load(testenv.RepoRoot(t))
	require.NoError(t, err)
	prod, err := overlays.Find(table, "prod")
	require.NoError(t, err)
	require.True(t, prod.Ingress && prod.TLSSecret != "", "the cases break prod's Ingress")
	return prod
}

func renderedProd(t *testing.T) *contract.Manifest {
	t.Helper()
	return rendered(t, prodRow(t))
}

// haRow is prod-ha's row: the HA cases break its promises.
func haRow(t *testing.T) overlays.Overlay {
	t.Helper()
	table, err := overlays.Load(testenv.RepoRoot(t))
	require.NoError(t, err)
	ha, err := overlays.Find(table, "prod-ha")
	require.NoError(t, err)
	require.Positive(t, ha.Members, "the HA cases break an HA group's promises")
	return ha
}

// rendered is the overlay o rendered with the function, unbroken.
func rendered(t *testing.T, o overlays.Overlay) *contract.Manifest {
	t.Helper()
	fns.OnPath(t)
	out, err := render.Krusty(o.Dir(testenv.RepoRoot(t)))
	require.NoError(t, err)
	m, err := contract.Parse(out)
	require.NoError(t, err)
	require.Empty(t, contract.Check(m, o.Expect), "the unbroken %s overlay must keep the contract", o.Name)
	require.Empty(t, auditGate(t, out), "the unbroken %s overlay must pass the audit gate", o.Name)
	return m
}

// brokenPromise is one case of a check's test (check_<id>_test.go): it
// breaks one promise in a real render.
type brokenPromise struct {
	name   string
	mutate func(m *contract.Manifest)
	want   string // in the finding's text
}

// breaks runs each case on a fresh render of row and wants a finding of
// check id whose text contains the case's want, every finding naming a
// check: a check that cannot fail is no check.
func breaks(t *testing.T, row overlays.Overlay, id string, cases ...brokenPromise) {
	t.Helper()
	ids := contract.CheckIDs()
	require.Contains(t, ids, id)
	require.NotEmpty(t, cases, "no case breaks the promise of check %s", id)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := rendered(t, row)
			tc.mutate(m)
			got := contract.Check(m, row.Expect)
			require.NotEmpty(t, got)
			for _, e := range got {
				assert.Contains(t, ids, e.Origin, "every finding names its check: %v", e)
			}
			assert.True(t, hasFinding(got, id, tc.want), "want a [%s] finding containing %q, got %s", id, tc.want, lines(got))
		})
	}
}

// Each check lives in check_<id>.go and its test beside it, in
// check_<id>_test.go, which breaks its promise in a real render (breaks).
func TestEveryCheckHasItsTestBeside(t *testing.T) {
	for _, id := range contract.CheckIDs() {
		file := "check_" + strings.ReplaceAll(id, "-", "_")
		_, err := os.Stat(file + ".go")
		assert.NoError(t, err, "check %s lives in %s.go", id, file)
		test, err := os.ReadFile(file + "_test.go")
		if assert.NoError(t, err, "check %s has its test beside it", id) {
			assert.Contains(t, string(test), `breaks(t, `, "%s_test.go breaks the promise in a real render", file)
			assert.Contains(t, string(test), strconv.Quote(id), "%s_test.go names its check", file)
		}
	}
}

// The checks' IDs are stable strings, each given once, each with its promise.
func TestCheckIDsAreUnique(t *testing.T) {
	ids := contract.CheckIDs()
	assert.Len(t, ids, len(slices.Compact(slices.Sorted(slices.Values(ids)))))
	for id, promise := range contract.Promises() {
		assert.NotContains(t, strings.TrimSuffix(promise, "."), ". ", "check %s: one sentence", id)
	}
}

// hasFinding reports whether errs holds a finding of check whose text contains want.
func hasFinding(errs field.ErrorList, check, want string) bool {
	return slices.ContainsFunc(errs, func(e *field.Error) bool { return e.Origin == check && strings.Contains(e.Error(), want) })
}

// lines is errs as tools/contract prints them.
func lines(errs field.ErrorList) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "\n[%s] %s", e.Origin, e.Error())
	}
	return b.String()
}

func TestParseRejectsFieldsTheAPIDoesNotKnow(t *testing.T) {
	_, err := contract.Parse([]byte("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: hbih\nspec:\n  replica: 2\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Deployment hbih")
	assert.Contains(t, err.Error(), `unknown field "replica"`)
}

func contractQuantity(t *testing.T, s string) resource.Quantity {
	t.Helper()
	q, err := resource.ParseQuantity(s)
	require.NoError(t, err)
	return q
}

// appDataMount is the Hub container's mount at appData.
func appDataMount(t *testing.T, m *contract.Manifest) *corev1.VolumeMount {
	t.Helper()
	mounts := m.Deployments[0].Spec.Template.Spec.Containers[0].VolumeMounts
	for i := range mounts {
		if mounts[i].MountPath == hub.AppData {
			return &mounts[i]
		}
	}
	t.Fatal("the render mounts nothing at appData")
	return nil
}

// volumeNamed is the pod's volume called name.
func volumeNamed(t *testing.T, m *contract.Manifest, name string) *corev1.Volume {
	t.Helper()
	volumes := m.Deployments[0].Spec.Template.Spec.Volumes
	for i := range volumes {
		if volumes[i].Name == name {
			return &volumes[i]
		}
	}
	t.Fatalf("the pod has no volume %s", name)
	return nil
}

// settingsConfigMap is the render's generated settings ConfigMap.
func settingsConfigMap(t *testing.T, m *contract.Manifest) *corev1.ConfigMap {
	t.Helper()
	for i := range m.ConfigMaps {
		if strings.HasPrefix(m.ConfigMaps[i].Name, contract.SettingsConfigMap+"-") {
			return &m.ConfigMaps[i]
		}
	}
	t.Fatal("the render has no settings ConfigMap")
	return nil
}

// initContainer is the pod's init container called name.
func initContainer(t *testing.T, m *contract.Manifest, name string) *corev1.Container {
	t.Helper()
	cs := m.Deployments[0].Spec.Template.Spec.InitContainers
	for i := range cs {
		if cs[i].Name == name {
			return &cs[i]
		}
	}
	t.Fatalf("the pod has no init container %s", name)
	return nil
}

// The files an overlay's Secrets are made from never reach a render:
// `make render` checks them on their own, naming the file.
func TestCheckJSONFile(t *testing.T) {
	for _, tc := range []struct{ name, body, wantErr string }{
		{"an object", `{"version": 0, "fragments": []}`, ""},
		{"cut short", `{"version": 0,`, "deployment.json is not a JSON object: unexpected end of JSON input"},
		{"a list", `[]`, "deployment.json is not a JSON object: json: cannot unmarshal array"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "deployment.json")
			require.NoError(t, os.WriteFile(path, []byte(tc.body), 0o600))
			err := contract.CheckJSONFile(path)
			if tc.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.wantErr)
		})
	}
}

// haSet is prod-ha's StatefulSet; haHub, the Hub's container in it.
func haSet(m *contract.Manifest) *appsv1.StatefulSet { return &m.StatefulSets[0] }

func haHub(m *contract.Manifest) *corev1.Container { return &haSet(m).Spec.Template.Spec.Containers[0] }

// haEnv is the Hub's environment variable called name.
func haEnv(t *testing.T, m *contract.Manifest, name string) *corev1.EnvVar {
	t.Helper()
	for i, e := range haHub(m).Env {
		if e.Name == name {
			return &haHub(m).Env[i]
		}
	}
	t.Fatalf("the Hub's container has no %s", name)
	return nil
}

// The contract's IDs and the function's rule IDs are apart: the contract
// shares no rule's ID, as it shares none of their implementations (what a
// rule holds, the audit gate holds: TestAuditGateHoldsWhatTheContractLeavesToIt).
// Each contract ID is documented once, as a row of docs/testing.md's table
// that says its promise as the check says it.
func TestContractAndFunctionIDsAreApart(t *testing.T) {
	rules := singleton.RuleIDs()
	for _, id := range contract.CheckIDs() {
		assert.NotContains(t, rules, id, "check %s has a function rule's ID", id)
	}
	root := testenv.RepoRoot(t)
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	require.NoError(t, err)
	docs = append(docs, filepath.Join(root, "README.md"), filepath.Join(root, "fnspec", "README.md"))
	rows := map[string][]string{}
	for _, doc := range docs {
		b, err := os.ReadFile(doc)
		require.NoError(t, err)
		for _, line := range strings.Split(string(b), "\n") {
			if id, rest, ok := strings.Cut(strings.TrimPrefix(line, "| `"), "` | "); ok && strings.HasPrefix(line, "| `") {
				rows[id] = append(rows[id], filepath.Base(doc)+": "+strings.TrimSuffix(rest, " |"))
			}
		}
	}
	for id, promise := range contract.Promises() {
		assert.Equal(t, []string{"testing.md: " + promise}, rows[id], "check %s: one row in docs/testing.md, its promise as the check says it", id)
	}
}
