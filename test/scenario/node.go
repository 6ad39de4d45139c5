package scenario

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// NodeNotReady waits until the node lifecycle controller no longer reports
// node name Ready (after node-monitor-grace-period without a heartbeat),
// within timeout.
func NodeNotReady(t testing.TB, client kubernetes.Interface, name string, timeout time.Duration) {
	t.Helper()
	Until(t, "node "+name+" marked not Ready", timeout, func(ctx context.Context) (bool, string, error) {
		n, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		i := slices.IndexFunc(n.Status.Conditions, func(c corev1.NodeCondition) bool { return c.Type == corev1.NodeReady })
		if i < 0 {
			return false, "no Ready condition", nil
		}
		c := n.Status.Conditions[i]
		return c.Status != corev1.ConditionTrue, fmt.Sprintf("Ready=%s since %s (%s)", c.Status, c.LastTransitionTime.Format(time.TimeOnly), c.Reason), nil
	})
}
