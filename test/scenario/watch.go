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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
)

// PodWatch follows the Hub's pods through one watch, from the moment it was
// made, and keeps the most that were ever Running at once. It counts what
// it has read: MostRunning covers the events up to the last Until, so a
// scenario reads on (SawRunning) to the state it asserts about.
type PodWatch struct {
	w           watch.Interface
	running     map[types.UID]bool
	mostRunning int
	events      []string
}

// Watch starts following the Hub's pods; the watch ends with the test.
func (h *Hub) Watch(t testing.TB) *PodWatch {
	t.Helper()
	ctx := context.Background()
	list, err := h.pods().List(ctx, metav1.ListOptions{LabelSelector: names.HubSelector})
	require.NoError(t, err)
	w, err := h.pods().Watch(ctx, metav1.ListOptions{LabelSelector: names.HubSelector, ResourceVersion: list.ResourceVersion})
	require.NoError(t, err)
	pw := &PodWatch{w: w, running: map[types.UID]bool{}}
	for _, p := range list.Items {
		pw.running[p.UID] = p.Status.Phase == corev1.PodRunning
	}
	pw.count()
	t.Cleanup(w.Stop)
	return pw
}

func (pw *PodWatch) count() {
	n := 0
	for _, r := range pw.running {
		if r {
			n++
		}
	}
	pw.mostRunning = max(pw.mostRunning, n)
}

// MostRunning is the most Hub pods the watch has seen Running at once,
// terminating ones included.
func (pw *PodWatch) MostRunning() int { return pw.mostRunning }

// Events are the events read so far, one line each, for a failure message.
func (pw *PodWatch) Events() string { return strings.Join(pw.events, "; ") }

// Until reads events until done says so about one, and fails the test if
// none does within timeout.
func (pw *PodWatch) Until(t testing.TB, what string, timeout time.Duration, done func(watch.EventType, *corev1.Pod) bool) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-pw.w.ResultChan():
			require.True(t, ok, "the watch of the Hub's pods closed while waiting for %s; events: %s", what, pw.Events())
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			pw.events = append(pw.events, fmt.Sprintf("%s %s %s deleting=%v", ev.Type, pod.Name, pod.Status.Phase, pod.DeletionTimestamp != nil))
			if ev.Type == watch.Deleted {
				delete(pw.running, pod.UID)
			} else {
				pw.running[pod.UID] = pod.Status.Phase == corev1.PodRunning
			}
			pw.count()
			if done(ev.Type, pod) {
				return
			}
		case <-deadline:
			t.Fatal(timedOut(what, timeout, "events "+pw.Events()))
		}
	}
}

// SawRunning reads events until the watch has seen pod Running: after it,
// MostRunning covers everything up to pod's start.
func (pw *PodWatch) SawRunning(t testing.TB, pod *corev1.Pod) {
	t.Helper()
	if pw.running[pod.UID] {
		return
	}
	pw.Until(t, "the watch to see pod "+pod.Name+" Running", 30*time.Second, func(_ watch.EventType, p *corev1.Pod) bool {
		return p.UID == pod.UID && p.Status.Phase == corev1.PodRunning
	})
}
