package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/hubkit/hubkit/internal/contract"
	"github.com/hubkit/hubkit/internal/names"
)

// fakeHub answers /v2/readyz as HighByte documents it, with the role the
// test sets; down makes it refuse connections' worth of answers (500, no body).
type fakeHub struct {
	mu     sync.Mutex
	status int
	body   string
}

func (h *fakeHub) set(status int, body string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.status, h.body = status, body
}

func (h *fakeHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.URL.Path != "/v2/readyz" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(h.status)
	fmt.Fprint(w, h.body)
}

func haBody(role, node string) string {
	return fmt.Sprintf(`{"deployment":{"mode":"ha","role":%q,"nodeId":%q,"primaryNodeId":"hbih-0"}}`, role, node)
}

// fakeMember is a labeler of pod hbih-0 against a fake Hub and clientset.
func fakeMember(t *testing.T) (*Labeler, *fakeHub, *fake.Clientset, *[]string) {
	t.Helper()
	hub := &fakeHub{status: http.StatusServiceUnavailable, body: haBody("secondary", "hbih-0")}
	srv := httptest.NewServer(hub)
	t.Cleanup(srv.Close)
	client := fake.NewClientset(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name: "hbih-0", Namespace: "hubkit",
		Labels: map[string]string{"app.kubernetes.io/name": "intelligence-hub", RoleLabel: Secondary},
	}})
	var patches []string
	client.PrependReactor("patch", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.PatchAction)
		patches = append(patches, fmt.Sprintf("%s %s %s", p.GetName(), p.GetPatchType(), p.GetPatch()))
		return false, nil, nil
	})
	var log strings.Builder
	l := &Labeler{Readyz: srv.URL + "/v2/readyz", HTTP: &http.Client{Timeout: time.Second}, Pods: client.CoreV1().Pods("hubkit"), Pod: "hbih-0", Log: &log}
	return l, hub, client, &patches
}

func label(t *testing.T, c *fake.Clientset) string {
	t.Helper()
	p, err := c.CoreV1().Pods("hubkit").Get(context.Background(), "hbih-0", metav1.GetOptions{})
	require.NoError(t, err)
	return p.Labels[RoleLabel]
}

// The label follows the Hub's role through a promotion, a demotion and the
// Hub going away, and every write is a merge patch of that label alone on
// the labeler's own pod.
func TestTheLabelFollowsTheHub(t *testing.T) {
	l, hub, client, patches := fakeMember(t)
	ctx := context.Background()
	steps := []struct {
		name         string
		status       int
		body         string
		want         string
		wantPatches  int
		wantPatchNow string
	}{
		{"a secondary", http.StatusServiceUnavailable, haBody("secondary", "hbih-0"), Secondary, 1, `{"metadata":{"labels":{"hubkit.dev/ha-role":"secondary"}}}`},
		{"still a secondary: no write", http.StatusServiceUnavailable, haBody("secondary", "hbih-0"), Secondary, 1, ""},
		{"promoted", http.StatusOK, haBody("primary", "hbih-0"), Primary, 2, `{"metadata":{"labels":{"hubkit.dev/ha-role":"primary"}}}`},
		{"the Hub fails", http.StatusInternalServerError, "", Secondary, 3, `{"metadata":{"labels":{"hubkit.dev/ha-role":"secondary"}}}`},
		{"primary again", http.StatusOK, haBody("primary", "hbih-0"), Primary, 4, ""},
		{"200 but another node's answer", http.StatusOK, haBody("primary", "hbih-1"), Secondary, 5, ""},
		{"200 from a standalone Hub", http.StatusOK, `{"deployment":{"mode":"standalone"}}`, Secondary, 5, ""},
	}
	for _, s := range steps {
		hub.set(s.status, s.body)
		require.NoError(t, l.Step(ctx), s.name)
		assert.Equal(t, s.want, label(t, client), s.name)
		require.Len(t, *patches, s.wantPatches, s.name)
		last := (*patches)[len(*patches)-1]
		assert.True(t, strings.HasPrefix(last, "hbih-0 application/merge-patch+json "), "%s: %s", s.name, last)
		if s.wantPatchNow != "" {
			assert.Equal(t, "hbih-0 application/merge-patch+json "+s.wantPatchNow, last, s.name)
		}
	}
	p, err := client.CoreV1().Pods("hubkit").Get(ctx, "hbih-0", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "intelligence-hub", p.Labels["app.kubernetes.io/name"], "no other label touched")
}

// A Hub that does not answer at all is no primary.
func TestAHubThatDoesNotAnswerIsNoPrimary(t *testing.T) {
	l, _, client, _ := fakeMember(t)
	l.Readyz = "http://127.0.0.1:1/v2/readyz"
	require.NoError(t, l.Step(context.Background()))
	assert.Equal(t, Secondary, label(t, client))
	role, why := l.Role(context.Background())
	assert.Equal(t, Secondary, role)
	assert.Contains(t, why, "the Hub does not answer")
}

// Unchanged, the label is written again after Resync (someone may have
// changed it), not at every step.
func TestResync(t *testing.T) {
	l, hub, _, patches := fakeMember(t)
	now := time.Unix(0, 0)
	l.now = func() time.Time { return now }
	l.Resync = 30 * time.Second
	hub.set(http.StatusOK, haBody("primary", "hbih-0"))
	for range 3 {
		require.NoError(t, l.Step(context.Background()))
		now = now.Add(10 * time.Second)
	}
	assert.Len(t, *patches, 1)
	now = now.Add(time.Second)
	require.NoError(t, l.Step(context.Background()))
	assert.Len(t, *patches, 2)
}

// Stopping, a primary labels itself secondary first.
func TestRunLabelsAStoppingPrimarySecondary(t *testing.T) {
	l, hub, client, _ := fakeMember(t)
	hub.set(http.StatusOK, haBody("primary", "hbih-0"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- l.Run(ctx, 10*time.Millisecond) }()
	require.Eventually(t, func() bool { return label(t, client) == Primary }, 5*time.Second, 10*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	assert.Equal(t, Secondary, label(t, client))
}

// The names are the contract's.
func TestNamesAreTheContracts(t *testing.T) {
	assert.Equal(t, contract.HARoleLabel, RoleLabel)
	assert.Equal(t, names.HARolePrimary, Primary)
}

func TestPeers(t *testing.T) {
	for _, tc := range []struct {
		pod     string
		members int
		want    []string
		err     string
	}{
		{pod: "hbih-0", members: 2, want: []string{"hbih-1"}},
		{pod: "hbih-1", members: 2, want: []string{"hbih-0"}},
		{pod: "line2-hbih-2", members: 3, want: []string{"line2-hbih-0", "line2-hbih-1"}},
		{pod: "hbih-0", members: 1},
		{pod: "hbih-2", members: 2, err: "ordinal 2 of a group of 2 members"},
		{pod: "hbih", members: 2, err: "is not a StatefulSet's member"},
		{pod: "hbih-x", members: 2, err: "is not a StatefulSet's member"},
	} {
		t.Run(tc.pod, func(t *testing.T) {
			got, err := Peers(tc.pod, tc.members)
			if tc.err != "" {
				assert.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// Made primary, the labeler labels every other member secondary first (a
// lost node's member keeps its label), then its own pod primary; a peer
// that is gone is no error.
func TestAPrimaryDemotesItsPeersFirst(t *testing.T) {
	l, hub, client, patches := fakeMember(t)
	_, err := client.CoreV1().Pods("hubkit").Create(context.Background(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name: "hbih-1", Namespace: "hubkit", Labels: map[string]string{RoleLabel: Primary}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	l.Peers = []string{"hbih-1", "hbih-2"}
	hub.set(http.StatusOK, haBody(Primary, "hbih-0"))
	require.NoError(t, l.Step(context.Background()))
	names := func() []string {
		var n []string
		for _, p := range *patches {
			name, _, _ := strings.Cut(p, " ")
			n = append(n, name+"="+map[bool]string{true: Primary, false: Secondary}[strings.Contains(p, `"primary"`)])
		}
		return n
	}
	assert.Equal(t, []string{"hbih-1=" + Secondary, "hbih-2=" + Secondary, "hbih-0=" + Primary}, names(), "the peers first, then itself")
	p, err := client.CoreV1().Pods("hubkit").Get(context.Background(), "hbih-1", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, Secondary, p.Labels[RoleLabel])
	assert.Equal(t, Primary, label(t, client))

	*patches = nil
	hub.set(http.StatusServiceUnavailable, haBody(Secondary, "hbih-0"))
	require.NoError(t, l.Step(context.Background()))
	assert.Equal(t, []string{"hbih-0=" + Secondary}, names(), "a demotion labels its own pod alone")
}
