package hubctl

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hubkit/hubkit/internal/names"
	"github.com/hubkit/hubkit/internal/restorepoint"
)

// Status is what `kubectl hubkit status` reports: the Hub on one screen,
// or as JSON (-o json).
type Status struct {
	Hub Hub `json:"hub"`
	// Replicas is what the workload asks; Ready how many pods are ready.
	Replicas int32  `json:"replicas"`
	Ready    int32  `json:"ready"`
	Image    string `json:"image"`
	// Version is the image's tag (or its digest's first hex digits).
	Version string      `json:"version"`
	Pods    []PodStatus `json:"pods"`
	// Serving says whether a Service sends to a ready pod of the Hub;
	// ServedBy names those pods.
	Serving      bool                `json:"serving"`
	ServedBy     []string            `json:"servedBy,omitempty"`
	Claims       []ClaimStatus       `json:"claims"`
	RestorePoint *restorepoint.Point `json:"restorePoint,omitempty"`
	Snapshots    string              `json:"snapshots,omitempty"`
	Guard        GuardStatus         `json:"guard"`
	Owner        *Owner              `json:"owner,omitempty"`
	Selector     string              `json:"selector"`
	Services     []string            `json:"services,omitempty"`
}

// PodStatus is one of the Hub's pods.
type PodStatus struct {
	Name     string    `json:"name"`
	Node     string    `json:"node,omitempty"`
	Phase    string    `json:"phase"`
	Ready    bool      `json:"ready"`
	Role     string    `json:"role,omitempty"`
	Restarts int32     `json:"restarts"`
	LastExit *LastExit `json:"lastExit,omitempty"`
	// Init says what holds the pod in its init containers, with the
	// failed one's message (a restore point before an upgrade that failed).
	Init string `json:"init,omitempty"`
}

// LastExit is how the Hub's container last ended.
type LastExit struct {
	Reason     string      `json:"reason"`
	ExitCode   int32       `json:"exitCode"`
	FinishedAt metav1.Time `json:"finishedAt"`
}

// ClaimStatus is one of the Hub's claims.
type ClaimStatus struct {
	Name         string `json:"name"`
	Phase        string `json:"phase"`
	Capacity     string `json:"capacity,omitempty"`
	StorageClass string `json:"storageClass,omitempty"`
	Driver       string `json:"driver,omitempty"`
}

// GuardStatus says whether hubkit's admission policies are installed and
// deny (rather than only warn or audit).
type GuardStatus struct {
	Policies []string `json:"policies,omitempty"`
	// InForce: every policy has a binding that denies.
	InForce bool   `json:"inForce"`
	Unknown string `json:"unknown,omitempty"`
}

// guardSelector selects the guard's policies and bindings.
const guardSelector = "app.kubernetes.io/part-of=hubkit,app.kubernetes.io/component=guard"

// status reads the Hub's status; it fails only when the Hub's workload
// cannot be read at all.
func (c *Clients) status(ctx context.Context, h Hub) (*Status, error) {
	s := &Status{Hub: h}
	meta, tmpl, replicas, ready, selector, err := c.workload(ctx, h)
	if err != nil {
		return nil, err
	}
	s.Replicas, s.Ready = replicas, ready
	hub := hubContainer(tmpl.Spec.Containers)
	s.Image, s.Version = hub.Image, restorepoint.VersionOf(hub.Image)
	s.Owner = ownerOf(meta)
	if s.Owner != nil {
		c.readOwner(ctx, s.Owner)
	}
	sel, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		return nil, fmt.Errorf("%s %s's selector: %w", h.Kind, h.Name, err)
	}
	s.Selector = sel.String()
	pods, err := c.Core.CoreV1().Pods(h.Namespace).List(ctx, metav1.ListOptions{LabelSelector: s.Selector})
	if err != nil {
		return nil, fmt.Errorf("list the Hub's pods (%s): %w", s.Selector, err)
	}
	for _, p := range pods.Items {
		s.Pods = append(s.Pods, podStatus(p, hub.Name))
	}
	if err := c.serving(ctx, s, tmpl.Labels); err != nil {
		return nil, err
	}
	for _, name := range h.Claims {
		s.Claims = append(s.Claims, c.claimStatus(ctx, h.Namespace, name))
	}
	s.RestorePoint, s.Snapshots = c.lastRestorePoint(ctx, h)
	s.Guard = c.guardStatus(ctx)
	return s, nil
}

func hubContainer(cs []corev1.Container) corev1.Container {
	if i := slices.IndexFunc(cs, func(c corev1.Container) bool { return c.Name == names.HubContainer }); i >= 0 {
		return cs[i]
	}
	return cs[0]
}

func podStatus(p corev1.Pod, container string) PodStatus {
	ps := PodStatus{Name: p.Name, Node: p.Spec.NodeName, Phase: string(p.Status.Phase), Role: p.Labels[names.HARoleLabel]}
	if p.DeletionTimestamp != nil {
		ps.Phase = "Terminating"
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			ps.Ready = c.Status == corev1.ConditionTrue
		}
	}
	ps.Init = initHold(p.Status.InitContainerStatuses)
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name != container {
			continue
		}
		ps.Restarts = cs.RestartCount
		if t := cs.LastTerminationState.Terminated; t != nil {
			ps.LastExit = &LastExit{Reason: t.Reason, ExitCode: t.ExitCode, FinishedAt: t.FinishedAt}
		}
	}
	return ps
}

// initHold is the first init container that has not finished well: its
// state, and the message it last ended with.
func initHold(statuses []corev1.ContainerStatus) string {
	for _, ic := range statuses {
		st := ic.State
		if st.Terminated != nil && st.Terminated.ExitCode == 0 {
			continue
		}
		hold := "init container " + ic.Name
		switch {
		case st.Running != nil:
			hold += " running"
		case st.Waiting != nil:
			hold += " " + st.Waiting.Reason
		case st.Terminated != nil:
			hold += " failed"
		}
		for _, t := range []*corev1.ContainerStateTerminated{st.Terminated, ic.LastTerminationState.Terminated} {
			if t != nil && t.ExitCode != 0 && strings.TrimSpace(t.Message) != "" {
				return hold + ": " + strings.TrimSpace(t.Message)
			}
		}
		return hold
	}
	return ""
}

// serving finds the Services that select the Hub's pods and whether their
// endpoints hold a ready one.
func (c *Clients) serving(ctx context.Context, s *Status, podLabels map[string]string) error {
	svcs, err := c.Core.CoreV1().Services(s.Hub.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list the Services of namespace %s: %w", s.Hub.Namespace, err)
	}
	mine := map[string]bool{}
	for _, p := range s.Pods {
		mine[p.Name] = true
	}
	for _, svc := range svcs.Items {
		sel := svc.Spec.Selector
		if len(sel) == 0 || !selectsTemplate(sel, podLabels) {
			continue
		}
		s.Services = append(s.Services, svc.Name)
		eps, err := c.Core.DiscoveryV1().EndpointSlices(s.Hub.Namespace).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc.Name})
		if err != nil {
			return fmt.Errorf("list service %s's endpoints: %w", svc.Name, err)
		}
		for _, es := range eps.Items {
			for _, ep := range es.Endpoints {
				if ep.TargetRef == nil || !mine[ep.TargetRef.Name] || ep.Conditions.Ready == nil || !*ep.Conditions.Ready {
					continue
				}
				s.Serving = true
				if !slices.Contains(s.ServedBy, ep.TargetRef.Name) {
					s.ServedBy = append(s.ServedBy, ep.TargetRef.Name)
				}
			}
		}
	}
	return nil
}

// selectsTemplate says whether a Service's selector can select the Hub's
// pods: each of its labels is the template's, but for the HA role, which
// the sidecar sets on the pod.
func selectsTemplate(sel, podLabels map[string]string) bool {
	for k, v := range sel {
		if k == names.HARoleLabel {
			continue
		}
		if podLabels[k] != v {
			return false
		}
	}
	return true
}

func (c *Clients) claimStatus(ctx context.Context, ns, name string) ClaimStatus {
	cs := ClaimStatus{Name: name, Phase: "Missing"}
	pvc, err := c.Core.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if !apierrors.IsNotFound(err) {
			cs.Phase = "Unknown: " + err.Error()
		}
		return cs
	}
	cs.Phase = string(pvc.Status.Phase)
	if pvc.DeletionTimestamp != nil {
		cs.Phase = "Terminating"
	}
	if q, ok := pvc.Status.Capacity[corev1.ResourceStorage]; ok {
		cs.Capacity = q.String()
	}
	if pvc.Spec.StorageClassName != nil {
		cs.StorageClass = *pvc.Spec.StorageClassName
	}
	if pvc.Spec.VolumeName != "" {
		if pv, err := c.Core.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{}); err == nil && pv.Spec.CSI != nil {
			cs.Driver = pv.Spec.CSI.Driver
		}
	}
	return cs
}

func (c *Clients) guardStatus(ctx context.Context) GuardStatus {
	var g GuardStatus
	policies, err := c.Core.AdmissionregistrationV1().ValidatingAdmissionPolicies().List(ctx, metav1.ListOptions{LabelSelector: guardSelector})
	if err != nil {
		g.Unknown = "cannot list ValidatingAdmissionPolicies: " + err.Error()
		return g
	}
	bindings, err := c.Core.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().List(ctx, metav1.ListOptions{LabelSelector: guardSelector})
	if err != nil {
		g.Unknown = "cannot list ValidatingAdmissionPolicyBindings: " + err.Error()
		return g
	}
	g.InForce = len(policies.Items) > 0
	for _, p := range policies.Items {
		g.Policies = append(g.Policies, p.Name)
		denies := false
		for _, b := range bindings.Items {
			if b.Spec.PolicyName == p.Name && slices.Contains(b.Spec.ValidationActions, "Deny") {
				denies = true
			}
		}
		g.InForce = g.InForce && denies
	}
	return g
}

// write prints the status on one screen: a label, then what it says.
func (s *Status) write(out io.Writer, now time.Time) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	h := s.Hub
	fmt.Fprintf(w, "hub\t%s/%s: %d/%d ready, version %s\n", h.Namespace, h.Ref(), s.Ready, s.Replicas, s.Version)
	if len(s.Pods) == 0 {
		fmt.Fprintf(w, "pod\tnone\n")
	}
	for _, p := range s.Pods {
		state := p.Phase
		if p.Ready {
			state += ", ready"
		}
		if p.Role != "" {
			state += ", " + p.Role
		}
		last := "last exit: none"
		if p.LastExit != nil {
			last = fmt.Sprintf("last exit: %s (%d) %s ago", p.LastExit.Reason, p.LastExit.ExitCode, since(now, p.LastExit.FinishedAt.Time))
		}
		fmt.Fprintf(w, "pod\t%s on %s: %s; restarts %d, %s\n", p.Name, orNone(p.Node), state, p.Restarts, last)
		if p.Init != "" {
			fmt.Fprintf(w, "\t%s\n", p.Init)
		}
	}
	serving := "NO: no Service sends to a ready pod of the Hub"
	if s.Serving {
		serving = "yes, by " + strings.Join(s.ServedBy, ", ")
	}
	fmt.Fprintf(w, "serving\t%s (service %s)\n", serving, orNone(strings.Join(s.Services, ", ")))
	for _, c := range s.Claims {
		fmt.Fprintf(w, "claim\t%s: %s %s, class %s, driver %s\n", c.Name, c.Phase, c.Capacity, orNone(c.StorageClass), orNone(c.Driver))
	}
	switch rp := s.RestorePoint; {
	case rp != nil:
		ready := "not ready"
		if rp.Ready {
			ready = "ready"
		}
		if rp.Error != "" {
			ready = "failed"
		}
		fmt.Fprintf(w, "restore point\t%s: %s, %s old, of version %s%s\n", rp.Name, ready, since(now, rp.Created.Time), orNone(rp.Version), suffix(rp.RestoreSize))
	default:
		fmt.Fprintf(w, "restore point\tnone: %s\n", s.Snapshots)
	}
	guard := "NOT installed: kustomize build guard | kubectl apply --server-side -f -"
	switch {
	case s.Guard.Unknown != "":
		guard = "unknown: " + s.Guard.Unknown
	case s.Guard.InForce:
		guard = fmt.Sprintf("in force (%d policies)", len(s.Guard.Policies))
	case len(s.Guard.Policies) > 0:
		guard = "installed, NOT in force: a policy without a binding that denies"
	}
	fmt.Fprintf(w, "guard\t%s\n", guard)
	owner := "none (kubectl)"
	if o := s.Owner; o != nil {
		switch {
		case o.Unknown != "":
			owner = fmt.Sprintf("%s: %s", o, o.Unknown)
		case !o.Reconciles:
			owner = fmt.Sprintf("%s: paused", o)
		case o.SelfHeals:
			owner = fmt.Sprintf("%s: reconciles, self-heals", o)
		default:
			owner = fmt.Sprintf("%s: syncs each commit, no self-heal", o)
		}
	}
	fmt.Fprintf(w, "owner\t%s\n", owner)
	return w.Flush()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func since(now, t time.Time) time.Duration {
	return now.Sub(t).Round(time.Second)
}

// pods lists the Hub's pods by its selector.
func (c *Clients) pods(ctx context.Context, ns, selector string) ([]corev1.Pod, error) {
	list, err := c.Core.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("list the Hub's pods (%s): %w", selector, err)
	}
	return list.Items, nil
}
