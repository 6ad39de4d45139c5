package scenario

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/names"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
)

// The Hub's claim as its storage has it: provisioned, grown, and what the
// node's kubelet says when it cannot mount it.

// WaitBound waits until the Hub's claim is Bound to a volume (on a
// provisioner's storage: provisioned, once a pod of the claim is
// scheduled), and returns the volume.
func (h *Hub) WaitBound(t testing.TB) *corev1.PersistentVolume {
	t.Helper()
	var pv *corev1.PersistentVolume
	Until(t, "claim "+names.AppDataClaim+" in "+h.Namespace+" Bound to a volume", 2*time.Minute, func(ctx context.Context) (bool, string, error) {
		c, err := h.Client.CoreV1().PersistentVolumeClaims(h.Namespace).Get(ctx, names.AppDataClaim, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		if c.Status.Phase != corev1.ClaimBound {
			return false, fmt.Sprintf("claim %s %s; %s", c.Name, c.Status.Phase, h.claimEvents(ctx)), nil
		}
		pv, err = h.Client.CoreV1().PersistentVolumes().Get(ctx, c.Spec.VolumeName, metav1.GetOptions{})
		return err == nil, "", err
	})
	return pv
}

// Volume is the volume the Hub's claim is bound to now.
func (h *Hub) Volume(t testing.TB) *corev1.PersistentVolume {
	t.Helper()
	ctx := context.Background()
	c, err := h.Client.CoreV1().PersistentVolumeClaims(h.Namespace).Get(ctx, names.AppDataClaim, metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, corev1.ClaimBound, c.Status.Phase, "claim %s is bound", names.AppDataClaim)
	pv, err := h.Client.CoreV1().PersistentVolumes().Get(ctx, c.Spec.VolumeName, metav1.GetOptions{})
	require.NoError(t, err)
	return pv
}

// CSIVolumeDir is the host directory of the CSI volume the Hub's claim is
// bound to, on the real node: what AppData is on dynamic storage.
func (h *Hub) CSIVolumeDir(t testing.TB) string {
	t.Helper()
	require.NotNil(t, h.Node, "the claim's files are this host's only on the real node")
	pv := h.Volume(t)
	require.NotNil(t, pv.Spec.CSI, "volume %s is a CSI volume", pv.Name)
	return h.Node.CSIVolumeDir(pv.Spec.CSI.VolumeHandle)
}

// WaitCapacity waits until the Hub's claim has at least want, as its status
// says (an expansion the storage finished), and returns the claim.
func (h *Hub) WaitCapacity(t testing.TB, want resource.Quantity) *corev1.PersistentVolumeClaim {
	t.Helper()
	var claim *corev1.PersistentVolumeClaim
	Until(t, "claim "+names.AppDataClaim+" to have "+want.String(), 2*time.Minute, func(ctx context.Context) (bool, string, error) {
		c, err := h.Client.CoreV1().PersistentVolumeClaims(h.Namespace).Get(ctx, names.AppDataClaim, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		got := c.Status.Capacity[corev1.ResourceStorage]
		claim = c
		return got.Cmp(want) >= 0, fmt.Sprintf("claim %s asks %s, has %s, conditions %v; %s",
			c.Name, c.Spec.Resources.Requests.Storage(), got.String(), claimConditions(c), h.claimEvents(ctx)), nil
	})
	return claim
}

// WaitPodEvent waits for an event about the pod called name with reason
// (FailedMount, say) whose message holds every one of parts, and returns
// it.
func (h *Hub) WaitPodEvent(t testing.TB, name, reason string, parts ...string) corev1.Event {
	t.Helper()
	var event corev1.Event
	sel := fields.Set{"involvedObject.kind": "Pod", "involvedObject.name": name}.String()
	Until(t, fmt.Sprintf("a %s event of pod %s saying %q", reason, name, parts), time.Minute, func(ctx context.Context) (bool, string, error) {
		events, err := h.Client.CoreV1().Events(h.Namespace).List(ctx, metav1.ListOptions{FieldSelector: sel})
		if err != nil {
			return false, "", err
		}
		var seen []string
		for _, e := range events.Items {
			if e.Reason == reason && containsAll(e.Message, parts) {
				event = e
				return true, "", nil
			}
			seen = append(seen, e.Reason+": "+e.Message)
		}
		return false, fmt.Sprintf("the pod's %d events %q", len(seen), seen), nil
	})
	return event
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// claimEvents are the claim's last events, for a failure message.
func (h *Hub) claimEvents(ctx context.Context) string {
	sel := fields.Set{"involvedObject.kind": "PersistentVolumeClaim", "involvedObject.name": names.AppDataClaim}.String()
	events, err := h.Client.CoreV1().Events(h.Namespace).List(ctx, metav1.ListOptions{FieldSelector: sel})
	if err != nil || len(events.Items) == 0 {
		return "no event of the claim"
	}
	var lines []string
	for _, e := range events.Items[max(0, len(events.Items)-5):] {
		lines = append(lines, fmt.Sprintf("event %s: %s", e.Reason, e.Message))
	}
	return strings.Join(lines, "; ")
}

func claimConditions(c *corev1.PersistentVolumeClaim) []string {
	var cs []string
	for _, cond := range c.Status.Conditions {
		cs = append(cs, fmt.Sprintf("%s=%s (%s)", cond.Type, cond.Status, cond.Message))
	}
	return cs
}

// WaitStopped waits until the Hub is scaled to 0 and its pods are gone
// (their volumes unmounted: the kubelet deletes a pod only then), its
// claim left as it is.
func (h *Hub) WaitStopped(t testing.TB) {
	t.Helper()
	Until(t, "the Hub in "+h.Namespace+" stopped: no replica, no pod", 2*time.Minute, func(ctx context.Context) (bool, string, error) {
		s, err := h.look(ctx)
		if err != nil && s.deployment == nil {
			return false, "", err
		}
		pods, err := h.pods().List(ctx, metav1.ListOptions{LabelSelector: names.HubSelector})
		if err != nil {
			return false, "", err
		}
		return s.deployment.Status.Replicas == 0 && len(pods.Items) == 0,
			fmt.Sprintf("Deployment %s: %d replicas; %s", names.Hub, s.deployment.Status.Replicas, podLines(pods.Items)), nil
	})
}
