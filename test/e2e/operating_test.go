package e2e

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/hubkit/hubkit/internal/names"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/types"

	"github.com/hubkit/hubkit/test/pins"
	"github.com/hubkit/hubkit/test/render"
	"github.com/hubkit/hubkit/test/standin"
)

// operated is the overlay that adds everything for operating the Hub (the
// alerts, the dashboard, the telemetry), under overlays/.
const operated = "testdata/operated"

// What operating the Hub adds is what the API server accepts: rendered from
// overlays/testdata/operated, the PrometheusRule under prometheus-operator's
// own CRD and everything else under the built-in types, applied as a dry run
// with no warning (an unknown field is one). A rule the CRD's schema refuses
// is refused, so the schema is in force.
func TestOperating(t *testing.T) {
	operator := pins.Get(t, "PROMETHEUS_OPERATOR_MODULE")
	installCRD(t, filepath.Join(moduleDir(t, operator), "example", "prometheus-operator-crd", "monitoring.coreos.com_prometheusrules.yaml"))
	namespaces, rest := split(rendered(t, operated))
	require.Len(t, namespaces, 1)
	ctx := context.Background()
	t.Cleanup(func() {
		_ = e2e.client.CoreV1().Namespaces().Delete(context.Background(), namespaces[0].GetName(), metav1.DeleteOptions{})
	})
	require.NoError(t, applier(t).Apply(ctx, namespaces, false))

	t.Run("the render, PrometheusRule included, with no warning", func(t *testing.T) {
		require.NotNil(t, find(rest, "PrometheusRule"), "the overlay renders the alerts")
		appliesWithoutWarning(t, rest)
	})

	t.Run("a rule whose for: is no duration is refused", func(t *testing.T) {
		rule := find(rest, "PrometheusRule").DeepCopy()
		groups, _, err := unstructured.NestedSlice(rule.Object, "spec", "groups")
		require.NoError(t, err)
		first := groups[0].(map[string]any)["rules"].([]any)[0].(map[string]any)
		first["for"] = "five minutes"
		require.NoError(t, unstructured.SetNestedSlice(rule.Object, groups, "spec", "groups"))
		err = applier(t).Apply(ctx, []*unstructured.Unstructured{rule}, true)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "for")
	})

	t.Run("on the real node, the Hub is told the overlay's collector", testTelemetryOnTheRealNode)
}

// testTelemetryOnTheRealNode deploys the operated overlay for real on the
// real node, alerts and dashboard included, with the stand-in in the Hub's
// place, and asks the stand-in what the Hub's container was told: the
// collector of the overlay's telemetry-settings, in components/telemetry's
// form. The overlay runs without its name prefix, in a namespace of its
// own: the scenario's steps know the Hub by the base's names.
func testTelemetryOnTheRealNode(t *testing.T) {
	requireRealNode(t)
	onlyRealNode(t)
	ctx := context.Background()
	const ns = "hubkit-operated"
	dir := render.Variant(t, filepath.Join(e2e.root, "overlays", operated), func(k *types.Kustomization) {
		k.Namespace, k.NamePrefix = ns, ""
	})
	objs := renderedForRealNode(t, dir)
	loadStandin(t, hubImage(t, objs))
	namespaces, _ := split(objs)
	require.NoError(t, applier(t).Apply(ctx, namespaces, false))
	t.Cleanup(func() {
		_ = e2e.client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	})
	dirs := provideLocal(t, objs)
	hub := hubIn(ns)
	hub.AppData = dirs[names.AppDataClaim]
	require.NoError(t, applier(t).Apply(ctx, objs, false))
	t.Cleanup(func() { undeploy(t, objs) })
	pod := hub.WaitReady(t)

	settings := manifests(t, filepath.Join("overlays", operated, "telemetry-settings.yaml"))
	require.Len(t, settings, 1)
	collector, _, err := unstructured.NestedString(settings[0].Object, "data", "collector")
	require.NoError(t, err)
	require.NotEmpty(t, collector)
	assert.Equal(t, standin.Telemetry{Collector: collector, Form: "otel-command"}, hub.Status(t, pod).Telemetry)
}

// find is the first object of kind in objs, or nil.
func find(objs []*unstructured.Unstructured, kind string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind {
			return o
		}
	}
	return nil
}
