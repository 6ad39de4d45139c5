package e2e

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/names"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/hubkit/hubkit/test/node"
	"github.com/hubkit/hubkit/test/scenario"
)

// A crash's timeline, from the sources themselves: each event is when the
// component that did it says (containerd's times, the kubelet's and
// kube-proxy's logs, the stand-in's own log line) or when a watch of the
// apiserver received it; all on this host's clock.
type crashTimeline struct {
	at [numEvents]time.Time
	// readinessFailed counts the readiness probes that failed between the
	// container's start and the first that passed.
	readinessFailed int
}

type event int

const (
	killed     event = iota // the test's kill -9
	exited                  // containerd: the killed container's FinishedAt, its task's exit event
	noticed                 // the kubelet's log: SyncLoop (PLEG) ContainerDied for that container
	created                 // containerd: the new container's CreatedAt
	started                 // containerd: its StartedAt
	startupOK               // the kubelet's log: SyncLoop (probe) startup "started"
	appReady                // the stand-in's log: "started: ..." (its start delay over), as containerd stamped it
	readyOK                 // the kubelet's log: SyncLoop (probe) readiness "ready"
	podReady                // a watch of the pod: the status with the restarted container Ready
	sliceReady              // a watch of the EndpointSlices: the pod's endpoint ready again
	nodePort                // the Service's node port answers 200 from the stand-in: kube-proxy's rules lead to it
	numEvents
)

// eventNames name the events in messages.
var eventNames = [numEvents]string{"killed", "exited", "seen by the kubelet", "created", "started", "startup probe passed",
	"app ready", "readiness probe passed", "pod Ready", "EndpointSlice ready", "node port answers"}

func (e event) String() string { return eventNames[e] }

// steps are what the timeline's table shows, each from one event to the
// next, or from the later of two that may come in either order.
var steps = []struct {
	name string
	from []event // the latest of them
	to   event
}{
	{"the process exits (containerd's exit event)", []event{killed}, exited},
	{"the kubelet sees it (PLEG: it relists every 1 s)", []event{exited}, noticed},
	{"the kubelet creates the next container", []event{noticed}, created},
	{"containerd starts it", []event{created}, started},
	{"the startup probe passes (TCP, its first tick)", []event{started}, startupOK},
	{"the app starts (its own time)", []event{started}, appReady},
	{"the readiness probe passes, after both (its next tick)", []event{startupOK, appReady}, readyOK},
	{"the pod's Ready reaches the apiserver", []event{readyOK}, podReady},
	{"the EndpointSlice lists it ready", []event{podReady}, sliceReady},
	{"the node port answers (kube-proxy's rules)", []event{sliceReady}, nodePort},
}

// span is the time from the latest of from to to.
func (tl crashTimeline) span(from []event, to event) time.Duration {
	a := tl.at[from[0]]
	for _, e := range from[1:] {
		if tl.at[e].After(a) {
			a = tl.at[e]
		}
	}
	return tl.at[to].Sub(a)
}

// totals are the figures the timeline adds up to.
var totals = []struct {
	name string
	d    func(crashTimeline) time.Duration
}{
	{"**kill to serving**", crashTimeline.total},
	{"**Kubernetes' share** (less the app's start)", crashTimeline.kubernetes},
}

// total is kill to serving (the EndpointSlice lists the pod ready).
func (tl crashTimeline) total() time.Duration { return tl.at[sliceReady].Sub(tl.at[killed]) }

// appStart is the app's own share: its container started to its saying it
// is ready.
func (tl crashTimeline) appStart() time.Duration { return tl.at[appReady].Sub(tl.at[started]) }

// kubernetes is what Kubernetes adds: kill to serving less the app's start.
func (tl crashTimeline) kubernetes() time.Duration { return tl.total() - tl.appStart() }

// crashWatch follows one crash while it happens: a watch of the pod, one
// of the Service's EndpointSlices, the node port asked every 20 ms, and
// the kubelet's log from before the kill.
type crashWatch struct {
	mu         sync.Mutex
	armed      bool // the kill is about to come: what the watches see from now on is the crash's
	podReady   time.Time
	sliceDown  bool // the endpoint was seen not ready since the kill
	sliceReady time.Time
	nodePort   time.Time
	seen       []string // what the watches saw, for a failure message
	kubelet    *node.LogReader
	stop       context.CancelFunc
	done       sync.WaitGroup
}

// watchCrash starts following pod's crash, before the kill.
func watchCrash(t *testing.T, hub *scenario.Hub, pod *corev1.Pod, nodePortURL string) *crashWatch {
	t.Helper()
	n := e2e.cluster.Node
	var err error
	w := &crashWatch{}
	w.kubelet, err = n.Log("kubelet")
	require.NoError(t, err)
	prev, ok := containerStatus(pod)
	require.True(t, ok)
	ctx, cancel := context.WithCancel(context.Background())
	w.stop = cancel
	t.Cleanup(w.end)

	pods, err := e2e.client.CoreV1().Pods(hub.Namespace).Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", pod.Name).String()})
	require.NoError(t, err)
	endpoints, err := e2e.client.DiscoveryV1().EndpointSlices(hub.Namespace).Watch(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + names.Hub})
	require.NoError(t, err)
	w.done.Add(3)
	go func() {
		defer w.done.Done()
		defer pods.Stop()
		for ev := range pods.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			st, ok := containerStatus(p)
			if !ok {
				continue
			}
			w.mu.Lock()
			w.seen = append(w.seen, fmt.Sprintf("%s pod %s: %s ready %t, restarts %d", stamp(time.Now()), ev.Type, names.HubContainer, st.Ready, st.RestartCount))
			w.mu.Unlock()
			if st.RestartCount > prev.RestartCount && st.Ready {
				w.mark(&w.podReady)
			}
		}
	}()
	go func() {
		defer w.done.Done()
		defer endpoints.Stop()
		// The pod's endpoint, ready or not, in each of the Service's slices:
		// it is down when no slice lists it ready (not ready, or left out
		// while the pod has no address).
		ready := map[string]bool{}
		for ev := range endpoints.ResultChan() {
			s, ok := ev.Object.(*discoveryv1.EndpointSlice)
			if !ok {
				continue
			}
			ready[s.Name] = false
			if ev.Type != watch.Deleted {
				for _, ep := range s.Endpoints {
					if ep.TargetRef != nil && ep.TargetRef.Name == pod.Name && ep.Conditions.Ready != nil && *ep.Conditions.Ready {
						ready[s.Name] = true
					}
				}
			}
			up := slices.Contains(slices.Collect(maps.Values(ready)), true)
			w.mu.Lock()
			w.seen = append(w.seen, fmt.Sprintf("%s slice %s %s: endpoint ready %t", stamp(time.Now()), ev.Type, s.Name, up))
			switch {
			case !w.armed: // before the kill: the slice as it was
			case !up:
				w.sliceDown = true
			case w.sliceDown && w.sliceReady.IsZero():
				w.sliceReady = time.Now()
			}
			w.mu.Unlock()
		}
	}()
	go func() {
		defer w.done.Done()
		client := &http.Client{Timeout: 500 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		// From the kill on: the node port stops answering (the old process is
		// gone), then answers again (the new one, through the rules).
		refused := false
		for ctx.Err() == nil {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			w.mu.Lock()
			armed := w.armed
			w.mu.Unlock()
			if !armed {
				continue
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, nodePortURL, nil)
			if err != nil {
				return
			}
			resp, err := client.Do(req)
			if err != nil {
				refused = true
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "stand-in"):
				refused = true
			case refused:
				w.mark(&w.nodePort)
				return
			}
		}
	}()
	return w
}

// arm says the kill comes next: the watches take what they see from now
// on as the crash's.
func (w *crashWatch) arm() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armed = true
}

func (w *crashWatch) mark(at *time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if at.IsZero() {
		*at = time.Now()
	}
}

func (w *crashWatch) end() {
	w.stop()
	w.done.Wait()
}

// timeline waits until every watched event has happened, then reads the
// node's sources and puts the crash's timeline together: before is the pod
// as it was before the kill, back as WaitRestarted returned it.
func (w *crashWatch) timeline(t *testing.T, before, back *corev1.Pod, killedAt time.Time) crashTimeline {
	t.Helper()
	ctx := context.Background()
	scenario.Until(t, "the crash's last events: the pod Ready, the EndpointSlice ready, the node port answering", 30*time.Second,
		func(context.Context) (bool, string, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			return !w.podReady.IsZero() && !w.sliceReady.IsZero() && !w.nodePort.IsZero(),
				fmt.Sprintf("killed at %s; pod Ready at %s, endpoint down %t, ready at %s, node port at %s; the watches saw: %s",
					stamp(killedAt), stamp(w.podReady), w.sliceDown, stamp(w.sliceReady), stamp(w.nodePort), strings.Join(w.seen, "; ")), nil
		})
	w.end()
	var tl crashTimeline
	tl.at[killed] = killedAt
	tl.at[podReady], tl.at[sliceReady], tl.at[nodePort] = w.podReady, w.sliceReady, w.nodePort

	old, ok := containerStatus(before)
	require.True(t, ok)
	next, ok := containerStatus(back)
	require.True(t, ok)
	oldID, nextID := strings.TrimPrefix(old.ContainerID, "containerd://"), strings.TrimPrefix(next.ContainerID, "containerd://")
	lines, err := w.kubelet.Read()
	require.NoError(t, err)
	// One kill, one restart: a timeline spans the killed container and the
	// next. (The kubelet keeps one exited container per container: a
	// second exit would have removed the killed one.)
	require.Equal(t, old.RestartCount+1, next.RestartCount,
		"the kill restarted the container once; its last termination: %+v; the kubelet on the containers: %s",
		next.LastTerminationState.Terminated, kubeletOn(lines, oldID, nextID))
	n := e2e.cluster.Node
	oldTimes, err := n.ContainerTimes(ctx, oldID)
	require.NoError(t, err, "the killed container; the kubelet on it: %s", kubeletOn(lines, oldID))
	nextTimes, err := n.ContainerTimes(ctx, nextID)
	require.NoError(t, err, "the restarted container; the kubelet on it: %s", kubeletOn(lines, nextID))
	tl.at[exited], tl.at[created], tl.at[started] = oldTimes.Finished, nextTimes.Created, nextTimes.Started
	var found bool
	tl.at[appReady], found, err = node.ContainerLogLine(nextTimes.LogPath, "started: version")
	require.NoError(t, err)
	require.True(t, found, "the stand-in logged that it started, in %s", nextTimes.LogPath)

	pod := fmt.Sprintf("pod=%q", back.Namespace+"/"+back.Name)
	first := func(after time.Time, parts ...string) time.Time {
		for _, l := range lines {
			if !l.At.Before(after) && containsAll(l.Text, parts...) {
				return l.At
			}
		}
		return time.Time{}
	}
	tl.at[noticed] = first(killedAt, `"SyncLoop (PLEG): event for pod"`, "ContainerDied", oldID)
	tl.at[startupOK] = first(tl.at[created], `"SyncLoop (probe)"`, `probe="startup"`, `status="started"`, pod)
	if tl.at[startupOK].IsZero() {
		// No startup probe result: the kubelet took the container as started
		// without one (a container without a startup probe is).
		tl.at[startupOK] = tl.at[started]
	}
	tl.at[readyOK] = first(tl.at[created], `"SyncLoop (probe)"`, `probe="readiness"`, `status="ready"`, pod)
	for _, l := range lines {
		if l.At.After(tl.at[started]) && l.At.Before(tl.at[readyOK]) && containsAll(l.Text, `"Probe failed"`, `probeType="Readiness"`, pod) {
			tl.readinessFailed++
		}
	}
	for e, at := range tl.at {
		require.False(t, at.IsZero(), "the crash's timeline has no time for %q: %s", event(e), tl)
	}
	// The order is the assertion, the spans are figures. Only the causal
	// chain, each link read from one source or from a cause and its effect
	// (two watches' receipts may swap by a millisecond).
	chain := []event{killed, exited, noticed, created, started, startupOK, readyOK}
	for i := 1; i < len(chain); i++ {
		assert.False(t, tl.at[chain[i]].Before(tl.at[chain[i-1]]), "%q before %q: %s", chain[i], chain[i-1], tl)
	}
	return tl
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// kubeletOn is what the kubelet's log says of the containers: the lines
// that name any of their IDs, for a failure's message.
func kubeletOn(lines []node.LogLine, ids ...string) string {
	var on []string
	for _, l := range lines {
		if slices.ContainsFunc(ids, func(id string) bool { return strings.Contains(l.Text, id) }) {
			on = append(on, stamp(l.At)+" "+l.Text)
		}
	}
	if len(on) == 0 {
		return "nothing"
	}
	return "\n" + strings.Join(on, "\n")
}

func containerStatus(p *corev1.Pod) (corev1.ContainerStatus, bool) {
	i := slices.IndexFunc(p.Status.ContainerStatuses, func(s corev1.ContainerStatus) bool { return s.Name == names.HubContainer })
	if i < 0 {
		return corev1.ContainerStatus{}, false
	}
	return p.Status.ContainerStatuses[i], true
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format("15:04:05.000")
}

// String is the timeline as offsets from the kill, for a failure message.
func (tl crashTimeline) String() string {
	var b strings.Builder
	for e := exited; e < numEvents; e++ {
		fmt.Fprintf(&b, "%s +%s, ", e, offset(tl.at[killed], tl.at[e]))
	}
	return strings.TrimSuffix(b.String(), ", ")
}

func offset(from, to time.Time) string {
	if to.IsZero() {
		return "-"
	}
	return seconds(to.Sub(from))
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// quantile is the q-quantile of sorted durations, as report takes it.
func quantile(sorted []time.Duration, q float64) time.Duration {
	return sorted[int(q*float64(len(sorted)-1)+0.5)]
}

// stats are the median, p95 and max of d over the crashes.
func stats(tls []crashTimeline, d func(crashTimeline) time.Duration) (median, p95, most time.Duration) {
	var ds []time.Duration
	for _, tl := range tls {
		ds = append(ds, d(tl))
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return quantile(ds, 0.5), quantile(ds, 0.95), ds[len(ds)-1]
}

// rows are the timeline's steps and totals, each as a function of a crash.
func rows() (names []string, ds []func(crashTimeline) time.Duration) {
	for _, s := range steps {
		names = append(names, s.name)
		ds = append(ds, func(tl crashTimeline) time.Duration { return tl.span(s.from, s.to) })
	}
	for _, tot := range totals {
		names = append(names, tot.name)
		ds = append(ds, tot.d)
	}
	return names, ds
}

// writeTimeline writes the crashes' timelines to build/e2e/<name>.txt, for
// make bench-recovery: each step's median, p95 and max over the crashes,
// then every crash's events as seconds after its kill.
func writeTimeline(t *testing.T, name, title string, tls []crashTimeline) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d crashes, each step's median, p95 and max (s)\n\n", title, len(tls))
	b.WriteString("| step | median | p95 | max |\n| --- | --- | --- | --- |\n")
	names, ds := rows()
	names = append(names, "kill to the node port answering")
	ds = append(ds, func(tl crashTimeline) time.Duration { return tl.at[nodePort].Sub(tl.at[killed]) })
	for i, d := range ds {
		median, p95, most := stats(tls, d)
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", names[i], seconds(median), seconds(p95), seconds(most))
	}
	b.WriteString("\nEach crash, seconds after its kill:\n\n")
	b.WriteString("| # | exited | seen (PLEG) | created | started | startup probe | app ready | readiness probe (failed before) | pod Ready | EndpointSlice | node port | Kubernetes' share |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for i, tl := range tls {
		k := tl.at[killed]
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %s | %s (%d) | %s | %s | %s | %s |\n", i+1,
			offset(k, tl.at[exited]), offset(k, tl.at[noticed]), offset(k, tl.at[created]), offset(k, tl.at[started]),
			offset(k, tl.at[startupOK]), offset(k, tl.at[appReady]), offset(k, tl.at[readyOK]), tl.readinessFailed,
			offset(k, tl.at[podReady]), offset(k, tl.at[sliceReady]), offset(k, tl.at[nodePort]), seconds(tl.kubernetes()))
	}
	t.Log(b.String())
	writeFigure(t, name, strings.TrimRight(b.String(), "\n"))
}

// writeTimelineTable writes the table docs/benchmarks.md and
// docs/recovery.md show: each step's median and p95 over the first
// crashes and over the repeated ones, side by side.
func writeTimelineTable(t *testing.T, name string, firsts, repeated []crashTimeline) {
	t.Helper()
	var b strings.Builder
	b.WriteString("| step | first crash, median | p95 | repeated, capped, median | p95 |\n| --- | --- | --- | --- | --- |\n")
	names, ds := rows()
	for i, d := range ds {
		fm, fp, _ := stats(firsts, d)
		rm, rp, _ := stats(repeated, d)
		cells := []string{seconds(fm), seconds(fp), seconds(rm), seconds(rp)}
		if strings.HasPrefix(names[i], "**") {
			for j, c := range cells {
				cells[j] = "**" + c + "**"
			}
		}
		fmt.Fprintf(&b, "| %s | %s |\n", names[i], strings.Join(cells, " | "))
	}
	t.Log(b.String())
	writeFigure(t, name, strings.TrimRight(b.String(), "\n"))
}
