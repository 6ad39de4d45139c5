package names_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/hubkit/hubkit/internal/hub"
	"github.com/hubkit/hubkit/internal/names"
)

// objects reads the objects of a YAML file under the repository's root.
func objects(t *testing.T, path string) []*yaml.RNode {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", path))
	require.NoError(t, err)
	nodes, err := kio.FromBytes(b)
	require.NoError(t, err)
	return nodes
}

// one reads the one object of a YAML file.
func one(t *testing.T, path string) *yaml.RNode {
	t.Helper()
	nodes := objects(t, path)
	require.Len(t, nodes, 1, path)
	return nodes[0]
}

// value is the scalar at path in n, "" when there is none.
func value(t *testing.T, n *yaml.RNode, path ...string) string {
	t.Helper()
	v, err := n.Pipe(yaml.Lookup(path...))
	require.NoError(t, err)
	if v == nil {
		return ""
	}
	return yaml.GetValue(v)
}

// quoted is s as a CEL string literal in guard/'s expressions.
func quoted(s string) string { return "'" + s + "'" }

// base/ names the Hub's objects as names does.
func TestBaseNamesTheHubsObjects(t *testing.T) {
	d := one(t, "base/deployment.yaml")
	assert.Equal(t, names.Hub, d.GetName(), "the Deployment")
	assert.Equal(t, names.Hub, value(t, d, "spec", "template", "spec", "serviceAccountName"))
	pod := []string{"spec", "template", "spec"}
	assert.Equal(t, hub.AppData, value(t, d, append(pod, "containers", "[name="+names.HubContainer+"]", "volumeMounts", "[name="+names.AppDataVolume+"]", "mountPath")...),
		"the Hub's container mounts appData from its volume")
	assert.Equal(t, names.AppDataClaim, value(t, d, append(pod, "volumes", "[name="+names.AppDataVolume+"]", "persistentVolumeClaim", "claimName")...))
	assert.Equal(t, names.AppDataClaim, one(t, "base/claims.yaml").GetName(), "the claim")
	assert.Equal(t, names.Hub, one(t, "base/service.yaml").GetName(), "the Service")
	assert.Equal(t, names.Hub, one(t, "base/serviceaccount.yaml").GetName(), "the ServiceAccount")

	k := one(t, "base/kustomization.yaml")
	labels, err := k.Pipe(yaml.Lookup("labels"))
	require.NoError(t, err)
	var selecting map[string]any
	require.NoError(t, labels.VisitElements(func(l *yaml.RNode) error {
		if value(t, l, "includeSelectors") != "true" {
			return nil
		}
		pairs, err := l.Pipe(yaml.Lookup("pairs"))
		if err == nil {
			selecting, err = pairs.Map()
		}
		return err
	}))
	assert.Equal(t, map[string]any{"app.kubernetes.io/name": names.HubApp, "app.kubernetes.io/instance": names.Hub}, selecting,
		"the labels that select the Hub's pods (names.HubSelector)")
}

// guard/'s policies select the function's parameter ConfigMap by its label
// and read its keys, the claim access annotation and the role label as
// names spells them.
func TestGuardReadsTheNames(t *testing.T) {
	paramKind := 0
	for _, f := range []string{"guard/replicas.yaml", "guard/autoscalers.yaml", "guard/rollout.yaml", "guard/claims.yaml", "guard/restore-points.yaml"} {
		for _, n := range objects(t, f) {
			switch n.GetKind() {
			case "ValidatingAdmissionPolicy":
				assert.Equal(t, "ConfigMap", value(t, n, "spec", "paramKind", "kind"), "%s: %s's parameters", f, n.GetName())
				paramKind++
			case "ValidatingAdmissionPolicyBinding":
				m, err := n.Pipe(yaml.Lookup("spec", "paramRef", "selector", "matchLabels"))
				require.NoError(t, err)
				require.NotNil(t, m, "%s: %s selects its parameters by label", f, n.GetName())
				got, err := m.Map()
				require.NoError(t, err)
				assert.Equal(t, map[string]any{names.GuardParamsLabel: names.GuardParamsValue}, got, "%s: %s", f, n.GetName())
			}
		}
	}
	assert.Equal(t, 5, paramKind, "every policy with parameters")

	// Each variable named here reads the key prefix, annotation or label.
	for _, c := range []struct {
		file, variable string
		reads          []string
	}{
		{"guard/claims.yaml", "claims", []string{quoted(names.GuardClaimPrefix)}},
		{"guard/claims.yaml", "memberClaims", []string{quoted(names.GuardHAPrefix + names.GuardClaimPrefix)}},
		{"guard/claims.yaml", "reasoned", []string{quoted(names.ClaimAccessReasonAnnotation)}},
		{"guard/replicas.yaml", "members", []string{quoted(names.GuardHAPrefix)}},
		{"guard/autoscalers.yaml", "group", []string{quoted(names.GuardHAPrefix)}},
		{"guard/restore-points.yaml", "singletons", []string{quoted(names.GuardClaimPrefix)}},
		{"guard/restore-points.yaml", "labelled", []string{quoted(names.ClaimLabel)}},
	} {
		policy := objects(t, c.file)[0]
		expr := value(t, policy, "spec", "variables", "[name="+c.variable+"]", "expression")
		for _, r := range c.reads {
			assert.Contains(t, expr, r, "%s: variables.%s", c.file, c.variable)
		}
	}
	// The singletons' workload keys: kind in lower case, a dot, the name.
	assert.Equal(t, "deployment.hbih", names.GuardWorkloadKey("Deployment", names.Hub))
	assert.Contains(t, value(t, objects(t, "guard/replicas.yaml")[0], "spec", "variables", "[name=key]", "expression"), "variables.kind.lowerAscii() + '.' + ")

	for _, n := range objects(t, "guard/verified-images/verified-images.yaml") {
		if n.GetKind() != "ValidatingAdmissionPolicyBinding" {
			continue
		}
		assert.Equal(t, names.VerifiedImagesList, value(t, n, "spec", "paramRef", "name"))
		assert.Equal(t, names.VerifiedImagesNamespace, value(t, n, "spec", "paramRef", "namespace"))
		assert.Equal(t, names.VerifiedImagesEnforce, value(t, n, "spec", "matchResources", "namespaceSelector", "matchLabels", names.VerifiedImagesLabel))
	}

	role := objects(t, "guard/ha-role/ha-role.yaml")[0]
	assert.Contains(t, value(t, role, "spec", "matchConditions", "[name=member-pod]", "expression"), quoted(names.HARoleLabel))
	v, err := role.Pipe(yaml.Lookup("spec", "validations"))
	require.NoError(t, err)
	assert.Contains(t, v.MustString(), "in ["+quoted(names.HARolePrimary)+", "+quoted(names.HARoleSecondary)+"]", "the label's values")
}

// components/high-availability labels a member secondary until its sidecar
// has asked its Hub, and drops the guard's parameters a rendered input
// brought, for the function to write them again.
func TestHighAvailabilityWritesTheNames(t *testing.T) {
	s := one(t, "components/high-availability/members.yaml")
	assert.Equal(t, names.HARoleSecondary, value(t, s, "spec", "template", "metadata", "labels", names.HARoleLabel))
	assert.NotEmpty(t, value(t, one(t, "components/high-availability/statefulset/statefulset.yaml"), "metadata", "labels", names.HAMembersLabel))
	assert.Equal(t, names.HARolePrimary, value(t, one(t, "components/high-availability/service-primary-only.yaml"), "spec", "selector", names.HARoleLabel))
	k := one(t, "components/high-availability/kustomization.yaml")
	patches, err := k.Pipe(yaml.Lookup("patches"))
	require.NoError(t, err)
	var dropped []string
	require.NoError(t, patches.VisitElements(func(p *yaml.RNode) error {
		if value(t, p, "target", "kind") == "ConfigMap" {
			dropped = append(dropped, value(t, p, "target", "name"))
		}
		return nil
	}))
	assert.Equal(t, []string{names.GuardParams}, dropped)
}

func TestGuardKeys(t *testing.T) {
	assert.Equal(t, "statefulset.hbih", names.GuardWorkloadKey("StatefulSet", "hbih"))
	assert.Equal(t, "claim.hbih-appdata", names.GuardClaimKey("hbih-appdata"))
	assert.Equal(t, "ha.statefulset.hbih", names.GuardHAGroupKey("hbih"))
	assert.Equal(t, "ha.claim.appdata-hbih", names.GuardHAClaimKey("appdata", "hbih"))
}

// Each name is defined once: no constant or variable elsewhere in the
// repository's Go is initialised to the same literal. (A reference, such as
// const hubName = names.Hub, is no copy.)
func TestOneHome(t *testing.T) {
	home := map[string]string{}
	for value, name := range map[string]string{
		names.SingletonLabel: "names.SingletonLabel", names.HAMembersLabel: "names.HAMembersLabel",
		names.HARoleLabel: "names.HARoleLabel", names.ClaimAccessReasonAnnotation: "names.ClaimAccessReasonAnnotation",
		names.GuardParams: "names.GuardParams", names.GuardParamsLabel: "names.GuardParamsLabel",
		names.Hub: "names.Hub", names.AppDataClaim: "names.AppDataClaim", names.HubApp: "names.HubApp",
		hub.Livez: "hub.Livez", hub.Readyz: "hub.Readyz", hub.RolePrimary: "hub.RolePrimary", hub.RoleSecondary: "hub.RoleSecondary",
		hub.AppData: "hub.AppData", strconv.Itoa(hub.UID): "hub.UID", strconv.Itoa(hub.HTTPPort): "hub.HTTPPort",
	} {
		home[value] = name
	}
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		if dir := filepath.Dir(rel); dir == filepath.Join("internal", "names") || dir == filepath.Join("internal", "hub") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			spec, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for _, v := range spec.Values {
				lit, ok := v.(*ast.BasicLit)
				if !ok {
					continue
				}
				value := lit.Value
				if lit.Kind == token.STRING {
					value, _ = strconv.Unquote(lit.Value)
				}
				if name, ok := home[value]; ok {
					t.Errorf("%s: %s is a copy of %s: use it", fset.Position(lit.Pos()), lit.Value, name)
				}
			}
			return true
		})
		return nil
	})
	require.NoError(t, err)
}
