package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
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

	"github.com/hubkit/hubkit/internal/hub"
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
	if r.URL.Path != hub.Readyz {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(h.status)
	fmt.Fprint(w, h.body)
}

// rolePatch is the merge patch that labels a pod with role.
func rolePatch(role string) string {
	return `{"metadata":{"labels":{"` + names.HARoleLabel + `":"` + role + `"}}}`
}

// haBody is what a Hub of an HA group answers, as HighByte documents it.
func haBody(role, node string) string {
	return fmt.Sprintf(`{"deployment":{"mode":"ha","role":%q,"nodeId":%q,"primaryNodeId":"hbih-0"}}`, role, node)
}

// fakeMember is a labeler of pod hbih-0 against a fake Hub and clientset.
func fakeMember(t *testing.T) (*Labeler, *fakeHub, *fake.Clientset, *[]string) {
	t.Helper()
	fh := &fakeHub{status: http.StatusServiceUnavailable, body: haBody(hub.RoleSecondary, "hbih-0")}
	srv := httptest.NewServer(fh)
	t.Cleanup(srv.Close)
	client := fake.NewClientset(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name: "hbih-0", Namespace: "hubkit",
		Labels: map[string]string{"app.kubernetes.io/name": "intelligence-hub", names.HARoleLabel: names.HARoleSecondary},
	}})
	var patches []string
	client.PrependReactor("patch", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.PatchAction)
		patches = append(patches, fmt.Sprintf("%s %s %s", p.GetName(), p.GetPatchType(), p.GetPatch()))
		return false, nil, nil
	})
	var log strings.Builder
	l := &Labeler{Readyz: srv.URL + hub.Readyz, HTTP: &http.Client{Timeout: time.Second}, Pods: client.CoreV1().Pods("hubkit"), Pod: "hbih-0", Log: &log}
	return l, fh, client, &patches
}

func label(t *testing.T, c *fake.Clientset) string {
	t.Helper()
	p, err := c.CoreV1().Pods("hubkit").Get(context.Background(), "hbih-0", metav1.GetOptions{})
	require.NoError(t, err)
	return p.Labels[names.HARoleLabel]
}

// The label follows the Hub's role through a promotion, a demotion and the
// Hub going away, and every write is a merge patch of that label alone on
// the labeler's own pod.
func TestTheLabelFollowsTheHub(t *testing.T) {
	l, fh, client, patches := fakeMember(t)
	ctx := context.Background()
	steps := []struct {
		name         string
		status       int
		body         string
		want         string
		wantPatches  int
		wantPatchNow string
	}{
		{"a secondary", http.StatusServiceUnavailable, haBody(hub.RoleSecondary, "hbih-0"), names.HARoleSecondary, 1, rolePatch(names.HARoleSecondary)},
		{"still a secondary: no write", http.StatusServiceUnavailable, haBody(hub.RoleSecondary, "hbih-0"), names.HARoleSecondary, 1, ""},
		{"promoted", http.StatusOK, haBody(hub.RolePrimary, "hbih-0"), names.HARolePrimary, 2, rolePatch(names.HARolePrimary)},
		{"the Hub fails", http.StatusInternalServerError, "", names.HARoleSecondary, 3, rolePatch(names.HARoleSecondary)},
		{"primary again", http.StatusOK, haBody(hub.RolePrimary, "hbih-0"), names.HARolePrimary, 4, ""},
		{"200 but another node's answer", http.StatusOK, haBody(hub.RolePrimary, "hbih-1"), names.HARoleSecondary, 5, ""},
		{"200 from a standalone Hub", http.StatusOK, `{"deployment":{"mode":"standalone"}}`, names.HARoleSecondary, 5, ""},
	}
	for _, s := range steps {
		fh.set(s.status, s.body)
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
	l.Readyz = "http://127.0.0.1:1" + hub.Readyz
	require.NoError(t, l.Step(context.Background()))
	assert.Equal(t, names.HARoleSecondary, label(t, client))
	role, why := l.Role(context.Background())
	assert.Equal(t, names.HARoleSecondary, role)
	assert.Contains(t, why, "the Hub does not answer")
}

// Unchanged, the label is written again after Resync (someone may have
// changed it), not at every step.
func TestResync(t *testing.T) {
	l, fh, _, patches := fakeMember(t)
	now := time.Unix(0, 0)
	l.now = func() time.Time { return now }
	l.Resync = 30 * time.Second
	fh.set(http.StatusOK, haBody(hub.RolePrimary, "hbih-0"))
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
	l, fh, client, _ := fakeMember(t)
	fh.set(http.StatusOK, haBody(hub.RolePrimary, "hbih-0"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- l.Run(ctx, 10*time.Millisecond) }()
	require.Eventually(t, func() bool { return label(t, client) == names.HARolePrimary }, 5*time.Second, 10*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	assert.Equal(t, names.HARoleSecondary, label(t, client))
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
	l, fh, client, patches := fakeMember(t)
	_, err := client.CoreV1().Pods("hubkit").Create(context.Background(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name: "hbih-1", Namespace: "hubkit", Labels: map[string]string{names.HARoleLabel: names.HARolePrimary}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	l.Peers = []string{"hbih-1", "hbih-2"}
	fh.set(http.StatusOK, haBody(hub.RolePrimary, "hbih-0"))
	require.NoError(t, l.Step(context.Background()))
	patched := func() []string {
		var n []string
		for _, p := range *patches {
			name, _, _ := strings.Cut(p, " ")
			n = append(n, name+"="+map[bool]string{true: names.HARolePrimary, false: names.HARoleSecondary}[strings.Contains(p, strconv.Quote(names.HARolePrimary))])
		}
		return n
	}
	assert.Equal(t, []string{"hbih-1=" + names.HARoleSecondary, "hbih-2=" + names.HARoleSecondary, "hbih-0=" + names.HARolePrimary}, patched(), "the peers first, then itself")
	p, err := client.CoreV1().Pods("hubkit").Get(context.Background(), "hbih-1", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, names.HARoleSecondary, p.Labels[names.HARoleLabel])
	assert.Equal(t, names.HARolePrimary, label(t, client))

	*patches = nil
	fh.set(http.StatusServiceUnavailable, haBody(hub.RoleSecondary, "hbih-0"))
	require.NoError(t, l.Step(context.Background()))
	assert.Equal(t, []string{"hbih-0=" + names.HARoleSecondary}, patched(), "a demotion labels its own pod alone")
}
