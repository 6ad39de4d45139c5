package scenario

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/hubkit/hubkit/internal/hub"
	"github.com/hubkit/hubkit/internal/names"
	"github.com/hubkit/hubkit/test/node"
	"github.com/hubkit/hubkit/test/standin"
)

// Group is an HA group one overlay deployed into Namespace: a StatefulSet
// Name of members (pods Name-<ordinal>) on real nodes, the Service Name in
// front of whichever is primary. Its steps read as Hub's do:
//
//	primary := group.WaitServedBy(t, "hbih-0", "the preferred primary")
//	group.Kill(t, primary)
//	group.WaitServedBy(t, "hbih-1", "the other member")
//	group.AssertNeverTwo(t)
//
// Every member is reached through the stand-in's typed client
// (standin.Client), from this host, at its pod's address.
type Group struct {
	Client    kubernetes.Interface
	Namespace string
	Size      int          // its member count
	Nodes     []*node.Node // the real nodes its members run on
	// Service is the Service's ClusterIP, as pods reach it through
	// kube-proxy (set by SampleRoles' caller, or Watch).
	Service *standin.Client

	roles *standin.NeverTwo
}

// Members are the group's pods, by name.
func (g *Group) Members(t testing.TB) []corev1.Pod {
	t.Helper()
	pods, err := g.members(context.Background())
	require.NoError(t, err)
	return pods
}

func (g *Group) members(ctx context.Context) ([]corev1.Pod, error) {
	pods, err := g.Client.CoreV1().Pods(g.Namespace).List(ctx, metav1.ListOptions{LabelSelector: names.HubSelector})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(pods.Items, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	return pods.Items, nil
}

// Member is the member called name, now.
func (g *Group) Member(t testing.TB, name string) *corev1.Pod {
	t.Helper()
	pod, err := g.Client.CoreV1().Pods(g.Namespace).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err)
	return pod
}

// Hub is the stand-in in pod, through its HTTP API.
func (g *Group) Hub(pod *corev1.Pod) *standin.Client { return standin.NewClient(pod.Status.PodIP) }

// NodeOf is the real node pod runs on.
func (g *Group) NodeOf(t testing.TB, pod *corev1.Pod) *node.Node {
	t.Helper()
	i := slices.IndexFunc(g.Nodes, func(n *node.Node) bool { return n.Name() == pod.Spec.NodeName })
	require.GreaterOrEqual(t, i, 0, "pod %s runs on %q, none of the group's real nodes", pod.Name, pod.Spec.NodeName)
	return g.Nodes[i]
}

// As is the member pod seen as a single Hub, for the steps a member shares
// with one (Kill, PutSettings).
func (g *Group) As(t testing.TB, pod *corev1.Pod) *Hub {
	return &Hub{Client: g.Client, Namespace: g.Namespace, Node: g.NodeOf(t, pod)}
}

// Kill kills -9 the Hub's process in member pod, on its node, and returns
// when.
func (g *Group) Kill(t testing.TB, pod *corev1.Pod) time.Time {
	t.Helper()
	return g.As(t, pod).Kill(t, pod)
}

// WaitMembersReady waits until every member runs Ready (alive: the HA
// group's readiness is /v2/livez) and none is on its way out.
func (g *Group) WaitMembersReady(t testing.TB) {
	t.Helper()
	Until(t, fmt.Sprintf("all %d members Ready", g.Size), 3*time.Minute, func(ctx context.Context) (bool, string, error) {
		pods, err := g.members(ctx)
		if err != nil {
			return false, "", err
		}
		var seen []string
		ready := 0
		for _, pod := range pods {
			r := PodReady(&pod)
			if r && pod.DeletionTimestamp == nil {
				ready++
			}
			seen = append(seen, fmt.Sprintf("%s on %q %s ready=%t role=%s", pod.Name, pod.Spec.NodeName, pod.Status.Phase, r, pod.Labels[names.HARoleLabel]))
		}
		return ready == g.Size, strings.Join(seen, "; "), nil
	})
}

// WaitServedBy waits until the Service answers from the member called
// name, as primary, and returns its pod.
func (g *Group) WaitServedBy(t testing.TB, name, why string) *corev1.Pod {
	t.Helper()
	require.NotNil(t, g.Service, "the group's Service is unknown")
	Until(t, "the Service to answer from "+name+", "+why, 2*time.Minute, func(ctx context.Context) (bool, string, error) {
		code, h, err := g.Service.Readyz(ctx)
		if err != nil {
			return false, err.Error(), nil
		}
		d := h.Deployment
		return code == http.StatusOK && d.NodeID == name && d.Role == hub.RolePrimary,
			fmt.Sprintf("%d from %s (%s)", code, d.NodeID, d.Role), nil
	})
	return g.Member(t, name)
}

// WaitPrimary waits until pod's own /v2/readyz says it is primary, and
// returns when it first did.
func (g *Group) WaitPrimary(t testing.TB, pod *corev1.Pod) time.Time {
	t.Helper()
	var at time.Time
	Until(t, pod.Name+"'s /v2/readyz to say primary", time.Minute, func(ctx context.Context) (bool, string, error) {
		code, h, err := g.Hub(pod).Readyz(ctx)
		if err != nil {
			return false, err.Error(), nil
		}
		at = time.Now()
		return code == http.StatusOK && h.Deployment.Role == hub.RolePrimary, fmt.Sprintf("%d, role %s", code, h.Deployment.Role), nil
	})
	return at
}

// WaitNoPrimary waits until no member says it is primary, every one of
// them answering.
func (g *Group) WaitNoPrimary(t testing.TB, why string) {
	t.Helper()
	Until(t, "no member primary: "+why, time.Minute, func(ctx context.Context) (bool, string, error) {
		pods, err := g.members(ctx)
		if err != nil {
			return false, "", err
		}
		var primaries []string
		for _, pod := range pods {
			code, _, err := g.Hub(&pod).Readyz(ctx)
			if err != nil {
				return false, pod.Name + ": " + err.Error(), nil
			}
			if code == http.StatusOK {
				primaries = append(primaries, pod.Name)
			}
		}
		return len(pods) == g.Size && len(primaries) == 0, fmt.Sprintf("%d members, primary: %v", len(pods), primaries), nil
	})
}

// WaitRestartedPrimary waits until the kubelet restarted the Hub in member
// pod (its restart count up, Ready) and the Service answers from it as
// primary.
func (g *Group) WaitRestartedPrimary(t testing.TB, pod *corev1.Pod) {
	t.Helper()
	restarts := func(p *corev1.Pod) int32 {
		st, _ := hubStatus(p)
		return st.RestartCount
	}
	before := restarts(pod)
	Until(t, pod.Name+" restarted by the kubelet", time.Minute, func(ctx context.Context) (bool, string, error) {
		now, err := g.Client.CoreV1().Pods(g.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		return restarts(now) > before && PodReady(now), podLine(now), nil
	})
	g.WaitServedBy(t, pod.Name, "restarted")
}

// WaitEndpoints waits until the Service's EndpointSlices list primary's
// address alone, ready.
func (g *Group) WaitEndpoints(t testing.TB, primary *corev1.Pod) {
	t.Helper()
	Until(t, "the Service's endpoints to hold "+primary.Name+" alone", 30*time.Second, func(ctx context.Context) (bool, string, error) {
		ready, err := readyEndpoints(ctx, g.Client, g.Namespace)
		if err != nil {
			return false, "", err
		}
		return len(ready) == 1 && ready[0] == primary.Status.PodIP, fmt.Sprintf("ready endpoints %v, want [%s]", ready, primary.Status.PodIP), nil
	})
}

// readyEndpoints are the ready addresses of Service Name's EndpointSlices.
func readyEndpoints(ctx context.Context, client kubernetes.Interface, ns string) ([]string, error) {
	eps, err := client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + names.Hub})
	if err != nil {
		return nil, err
	}
	var ready []string
	for _, s := range eps.Items {
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && *e.Conditions.Ready {
				ready = append(ready, e.Addresses...)
			}
		}
	}
	return ready, nil
}

// HAStatus is what member pod's GET /debug/ha says.
func (g *Group) HAStatus(t testing.TB, pod *corev1.Pod) standin.HAStatus {
	t.Helper()
	st, err := g.Hub(pod).HA(context.Background())
	require.NoError(t, err)
	return st
}

// WaitSynced waits until member pod holds file with the digest want: the
// primary's, synced through the database.
func (g *Group) WaitSynced(t testing.TB, pod *corev1.Pod, file, want string) {
	t.Helper()
	Until(t, pod.Name+" to hold the primary's "+file+", synced", time.Minute, func(ctx context.Context) (bool, string, error) {
		st, err := g.Hub(pod).HA(ctx)
		if err != nil {
			return false, err.Error(), nil
		}
		return st.Files[file] == want, fmt.Sprintf("files %v", st.Files), nil
	})
}

// SampleRoles samples every member's /v2/readyz every 100 ms for the rest
// of the test (standin.NeverTwo), and fails the test at its end if two
// ever acted as primary at once, or if no member answered since the last
// AssertNeverTwo.
func (g *Group) SampleRoles(t testing.TB) {
	t.Helper()
	g.roles = standin.SampleNeverTwo(func(ctx context.Context) ([]standin.Member, error) {
		pods, err := g.members(ctx)
		if err != nil {
			return nil, err
		}
		var ms []standin.Member
		for _, p := range pods {
			if p.Status.PodIP != "" {
				ms = append(ms, standin.Member{Name: p.Name, Client: g.Hub(&p)})
			}
		}
		return ms, nil
	}, 100*time.Millisecond)
	t.Cleanup(func() { require.NoError(t, g.roles.Stop(), "never two primaries") })
}

// AssertNeverTwo fails the test if two members acted as primary at once
// in any sample so far, or if no member answered since the last call.
func (g *Group) AssertNeverTwo(t testing.TB) {
	t.Helper()
	require.NotNil(t, g.roles, "SampleRoles first")
	require.NoError(t, g.roles.Check(), "never two primaries")
}

// ServiceWatch asks the Service every 100 ms and counts its members Ready,
// until stopped.
type ServiceWatch struct {
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	mu          sync.Mutex
	looks       int           // times the members were listed
	fewestReady int           // the fewest members Ready at a look
	longest     time.Duration // the longest span with no answer from a primary
	gaps        int           // such spans
	answered    int           // answers from a primary
}

// WatchService starts a ServiceWatch, stopped at the test's end if not
// before.
func (g *Group) WatchService(t testing.TB) *ServiceWatch {
	t.Helper()
	require.NotNil(t, g.Service, "the group's Service is unknown")
	ctx, cancel := context.WithCancel(context.Background())
	w := &ServiceWatch{cancel: cancel, done: make(chan struct{}), fewestReady: g.Size}
	go func() {
		defer close(w.done)
		var since time.Time
		for ctx.Err() == nil {
			if pods, err := g.members(ctx); err == nil {
				ready := 0
				for _, pod := range pods {
					if pod.DeletionTimestamp == nil && PodReady(&pod) {
						ready++
					}
				}
				w.mu.Lock()
				w.looks++
				w.fewestReady = min(w.fewestReady, ready)
				w.mu.Unlock()
			}
			code, _, err := g.Service.Readyz(ctx)
			now := time.Now()
			w.mu.Lock()
			switch {
			case err == nil && code == http.StatusOK:
				w.answered++
				if !since.IsZero() {
					w.longest = max(w.longest, now.Sub(since))
					since = time.Time{}
				}
			case since.IsZero() && ctx.Err() == nil:
				since = now
				w.gaps++
			}
			w.mu.Unlock()
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { w.Stop(t) })
	return w
}

// ServiceGaps is what a ServiceWatch saw.
type ServiceGaps struct {
	Longest     time.Duration // the longest span with no answer from a primary
	Gaps        int           // such spans
	FewestReady int           // the fewest members Ready at any look
}

// Stop ends the watch and says what it saw; it fails the test if it never
// listed the members or never had an answer from a primary.
func (w *ServiceWatch) Stop(t testing.TB) ServiceGaps {
	t.Helper()
	w.once.Do(func() {
		w.cancel()
		<-w.done
	})
	w.mu.Lock()
	defer w.mu.Unlock()
	require.NotZero(t, w.looks, "the watch listed the members")
	require.NotZero(t, w.answered, "the watch had an answer from a primary")
	return ServiceGaps{Longest: w.longest, Gaps: w.gaps, FewestReady: w.fewestReady}
}

// WaitRolledOut waits until the StatefulSet's rolling update is done: every
// member updated to the current revision and Ready.
func (g *Group) WaitRolledOut(t testing.TB) {
	t.Helper()
	Until(t, "the StatefulSet's rolling update done", 3*time.Minute, func(ctx context.Context) (bool, string, error) {
		s, err := g.Client.AppsV1().StatefulSets(g.Namespace).Get(ctx, names.Hub, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		st := s.Status
		return st.ObservedGeneration == s.Generation && st.UpdateRevision == st.CurrentRevision && int(st.UpdatedReplicas) == g.Size && int(st.ReadyReplicas) == g.Size,
			fmt.Sprintf("revision %s -> %s, %d updated, %d ready", st.CurrentRevision, st.UpdateRevision, st.UpdatedReplicas, st.ReadyReplicas), nil
	})
}

// DeleteClaims deletes every member's claim (a StatefulSet leaves them) and
// waits until the members and their claims are gone.
func (g *Group) DeleteClaims(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	claims := g.Client.CoreV1().PersistentVolumeClaims(g.Namespace)
	list, err := claims.List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	for _, c := range list.Items {
		_ = claims.Delete(ctx, c.Name, metav1.DeleteOptions{})
	}
	Until(t, "the group's pods and claims gone", 2*time.Minute, func(ctx context.Context) (bool, string, error) {
		pods, err := g.members(ctx)
		if err != nil {
			return false, "", err
		}
		left, err := claims.List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, "", err
		}
		return len(pods) == 0 && len(left.Items) == 0, fmt.Sprintf("%d pods, %d claims", len(pods), len(left.Items)), nil
	})
}

// Claims are the group's claims, as name/uid: the same list, the same claims.
func (g *Group) Claims(t testing.TB) []string {
	t.Helper()
	list, err := g.Client.CoreV1().PersistentVolumeClaims(g.Namespace).List(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)
	var out []string
	for _, c := range list.Items {
		out = append(out, c.Name+"/"+string(c.UID))
	}
	slices.Sort(out)
	return out
}

// FollowService points Service at the group's Service as it is now (a
// Service made anew has a new ClusterIP).
func (g *Group) FollowService(t testing.TB) {
	t.Helper()
	svc, err := g.Client.CoreV1().Services(g.Namespace).Get(context.Background(), names.Hub, metav1.GetOptions{})
	require.NoError(t, err)
	g.Service = standin.NewClient(svc.Spec.ClusterIP)
}

// WaitNoMembers waits until no member pod is left, as deleting what
// deployed the group leaves it.
func (g *Group) WaitNoMembers(t testing.TB) {
	t.Helper()
	Until(t, "no member of the group left in "+g.Namespace, 2*time.Minute, func(ctx context.Context) (bool, string, error) {
		pods, err := g.members(ctx)
		return err == nil && len(pods) == 0, podLines(pods), err
	})
}
