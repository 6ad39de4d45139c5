package hub_test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/hubkit/hubkit/internal/hub"
)

// object reads the object of this kind from a YAML file under the
// repository's root (one document per object).
func object(t *testing.T, path, kind string) *yaml.RNode {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", path))
	require.NoError(t, err)
	nodes, err := kio.FromBytes(b)
	require.NoError(t, err)
	for _, n := range nodes {
		if n.GetKind() == kind {
			return n
		}
	}
	require.Failf(t, "no such object", "%s has no %s", path, kind)
	return nil
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

// base/ runs the Hub as UID, on its ports by their names, with appData on
// the claim: the values hub's constants hold.
func TestBaseWritesTheHubsFacts(t *testing.T) {
	d := object(t, "base/deployment.yaml", "Deployment")
	uid := strconv.Itoa(hub.UID)
	for _, f := range []string{"runAsUser", "runAsGroup", "fsGroup"} {
		assert.Equal(t, uid, value(t, d, "spec", "template", "spec", "securityContext", f), f)
	}
	ports := map[string]int{hub.HTTPPortName: hub.HTTPPort, hub.MQTTPortName: hub.MQTTPort, hub.RESTDataPortName: hub.RESTDataPort}
	containers := []string{"spec", "template", "spec", "containers", "[name=hub]"}
	for name, port := range ports {
		assert.Equal(t, strconv.Itoa(port), value(t, d, append(containers, "ports", "[name="+name+"]", "containerPort")...), "the container's port %s", name)
	}
	assert.Equal(t, hub.AppData, value(t, d, append(containers, "volumeMounts", "[name=appdata]", "mountPath")...))

	s := object(t, "base/service.yaml", "Service")
	for _, name := range []string{hub.HTTPPortName, hub.MQTTPortName} {
		assert.Equal(t, strconv.Itoa(ports[name]), value(t, s, "spec", "ports", "[name="+name+"]", "port"), "the Service's port %s", name)
		assert.Equal(t, name, value(t, s, "spec", "ports", "[name="+name+"]", "targetPort"), "the Service's port %s", name)
	}
}

// components/health-v2 probes the Hub's endpoints, and an HA group's
// sidecar asks its own Hub's role endpoint on localhost.
func TestComponentsAskTheHubsEndpoints(t *testing.T) {
	hubC := []string{"spec", "template", "spec", "containers", "[name=hub]"}
	d := object(t, "components/health-v2/probes-v2.yaml", "Deployment")
	assert.Equal(t, hub.Readyz, value(t, d, append(hubC, "readinessProbe", "httpGet", "path")...))
	assert.Equal(t, hub.Livez, value(t, d, append(hubC, "livenessProbe", "httpGet", "path")...))
	assert.Equal(t, hub.Livez, value(t, d, append(hubC, "startupProbe", "httpGet", "path")...))

	s := object(t, "components/high-availability/members.yaml", "StatefulSet")
	args, err := s.Pipe(yaml.Lookup("spec", "template", "spec", "containers", "[name=ha-role]", "args"))
	require.NoError(t, err)
	require.NotNil(t, args)
	elements, err := args.Elements()
	require.NoError(t, err)
	var got []string
	for _, e := range elements {
		got = append(got, yaml.GetValue(e))
	}
	assert.Contains(t, got, "-readyz=http://127.0.0.1:"+strconv.Itoa(hub.HTTPPort)+hub.Readyz, "the sidecar asks its Hub's role")
}
