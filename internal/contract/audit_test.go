package contract_test

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

	"github.com/hubkit/hubkit/internal/contract"
	"github.com/hubkit/hubkit/plugin/singleton"
	"github.com/hubkit/hubkit/test/render"
	"github.com/hubkit/hubkit/test/testenv"
)

// auditGate runs on rendered, in process, the gate that `make render` runs
// on every render before the contract (`singleton
// functions/singleton/audit.yaml`): the function's own rules, in audit
// mode. It returns its error results as the function prints them.
func auditGate(t *testing.T, rendered []byte) []string {
	t.Helper()
	config, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "functions", "singleton", "audit.yaml"))
	require.NoError(t, err)
	items, err := (&kio.ByteReader{Reader: bytes.NewReader(rendered), OmitReaderAnnotations: true}).Read()
	require.NoError(t, err)
	rl := &framework.ResourceList{Items: items, FunctionConfig: yaml.MustParse(string(config))}
	_ = singleton.Processor{}.Process(rl)
	var out []string
	for _, r := range rl.Results {
		if r.Severity == framework.Error {
			out = append(out, r.String())
		}
	}
	return out
}

// What the contract leaves to the function, the audit gate reports in a
// real render: each case breaks a promise that a rule of the function
// holds (and the contract no longer repeats), and wants that rule's error.
func TestAuditGateHoldsWhatTheContractLeavesToIt(t *testing.T) {
	kind := func(k string) func(n *yaml.RNode) bool { return func(n *yaml.RNode) bool { return n.GetKind() == k } }
	for _, tc := range []struct {
		name    string
		overlay string
		target  func(n *yaml.RNode) bool
		mutate  yaml.Filter
		add     string // an object to add instead
		rule    string
		want    string
	}{
		{name: "two replicas", overlay: "prod", target: kind("Deployment"),
			mutate: yaml.Tee(yaml.Lookup("spec"), yaml.SetField("replicas", yaml.MustParse("2"))), rule: "replicas", want: "spec.replicas is 2"},
		{name: "replicas unset", overlay: "prod", target: kind("Deployment"),
			mutate: yaml.Tee(yaml.Lookup("spec"), yaml.Clear("replicas")), rule: "replicas", want: "spec.replicas is unset"},
		{name: "rolling update", overlay: "prod", target: kind("Deployment"),
			mutate: yaml.Tee(yaml.Lookup("spec", "strategy"), yaml.SetField("type", yaml.NewScalarRNode("RollingUpdate"))), rule: "rollout", want: "Recreate"},
		{name: "no readiness probe", overlay: "prod", target: kind("Deployment"),
			mutate: yaml.Tee(yaml.Lookup("spec", "template", "spec", "containers", "[name=hub]"), yaml.Clear("readinessProbe")), rule: "probes", want: "readinessProbe"},
		{name: "an autoscaler", overlay: "prod",
			add:  "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: hbih\n  namespace: hubkit\nspec:\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: hbih\n  maxReplicas: 3\n",
			rule: "autoscalers", want: "HorizontalPodAutoscaler"},
		{name: "ingress backend port missing", overlay: "prod", target: kind("Ingress"),
			mutate: yaml.Tee(yaml.Lookup("spec", "rules", "0", "http", "paths", "0", "backend", "service"), yaml.SetField("port", yaml.MustParse("name: web"))), rule: "wiring", want: "web"},
		{name: "HA: three replicas", overlay: "prod-ha", target: kind("StatefulSet"),
			mutate: yaml.Tee(yaml.Lookup("spec"), yaml.SetField("replicas", yaml.MustParse("3"))), rule: "ha-members", want: "3"},
		{name: "HA: OnDelete", overlay: "prod-ha", target: kind("StatefulSet"),
			mutate: yaml.Tee(yaml.Lookup("spec"), yaml.SetField("updateStrategy", yaml.MustParse("type: OnDelete"))), rule: "ha-rollout", want: "OnDelete"},
		{name: "HA: members on one node", overlay: "prod-ha", target: kind("StatefulSet"),
			mutate: yaml.Tee(yaml.Lookup("spec", "template", "spec"), yaml.Clear("affinity")), rule: "ha-spread", want: "kubernetes.io/hostname"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fns.OnPath(t)
			table := prodRow(t)
			if tc.overlay == "prod-ha" {
				table = haRow(t)
			}
			out, err := render.Krusty(table.Dir(testenv.RepoRoot(t)))
			require.NoError(t, err)
			require.Empty(t, auditGate(t, out))
			items, err := (&kio.ByteReader{Reader: bytes.NewReader(out), OmitReaderAnnotations: true}).Read()
			require.NoError(t, err)
			if tc.add != "" {
				items = append(items, yaml.MustParse(strings.ReplaceAll(tc.add, "namespace: hubkit", "namespace: "+table.Namespace)))
			}
			for _, n := range items {
				if tc.target != nil && tc.target(n) {
					require.NoError(t, n.PipeE(tc.mutate))
				}
			}
			var broken bytes.Buffer
			require.NoError(t, kio.ByteWriter{Writer: &broken}.Write(items))
			m, err := contract.Parse(broken.Bytes())
			require.NoError(t, err)
			assert.Empty(t, contract.Check(m, table.Expect), "the contract leaves this to the audit gate")
			got := auditGate(t, broken.Bytes())
			assert.True(t, func() bool {
				for _, line := range got {
					if strings.Contains(line, "["+tc.rule+"]") && strings.Contains(line, tc.want) {
						return true
					}
				}
				return false
			}(), "want a [%s] error containing %q, got %q", tc.rule, tc.want, got)
		})
	}
}
