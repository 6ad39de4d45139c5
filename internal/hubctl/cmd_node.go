package hubctl

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
)

// outOfService is the taint that declares a node shut down
// (node.kubernetes.io/out-of-service): its pods are deleted and their
// volumes detached, so that the Hub's claim can go elsewhere.
func outOfService() corev1.Taint {
	return corev1.Taint{Key: corev1.TaintNodeOutOfService, Value: "nodeshutdown", Effect: corev1.TaintEffectNoExecute}
}

// nodeLeases is the namespace of the kubelets' heartbeats.
const nodeLeases = "kube-node-lease"

func nodeLostCommand(o *options) *cobra.Command {
	var stale time.Duration
	cmd := &cobra.Command{
		Use:   "node-lost NODE",
		Short: "Declare the Hub's node shut down (the out-of-service taint) and wait until the Hub serves elsewhere",
		Long: `node-lost is the runbook for a lost node (docs/operating.md, HubUnschedulable): the
Hub's pod is held Terminating on a node that does not answer, and its replacement waits,
since ReadWriteOncePod will not start a second writer while the first might still write.
Once you know the node is powered off, node-lost taints it
node.kubernetes.io/out-of-service=nodeshutdown:NoExecute, and Kubernetes deletes its pods
and detaches its volumes; it then waits until the Hub serves on another node.

Refused, with nothing changed, unless the node is NotReady and its kubelet's Lease has
not been renewed for --stale-after (a node that still renews its Lease is alive, and two
Hubs would write one appData), and unless the Hub's pod is on that node. It cannot tell
a powered-off node from a partitioned one: that is yours to know. node-back removes the
taint once the node is back.`,
		Args: cobra.ExactArgs(1),
		RunE: o.planned(func(ctx context.Context, c *Clients, s *Status, args []string) (plan, error) {
			h, node := s.Hub, args[0]
			if err := c.nodeGone(ctx, node, stale, time.Now()); err != nil {
				return nil, err
			}
			if !slices.ContainsFunc(s.Pods, func(p PodStatus) bool { return p.Node == node }) {
				return nil, refuse("no pod of %s/%s is on node %s: nothing of the Hub's is held there (kubectl hubkit status says where it is)", h.Namespace, h.Ref(), node)
			}
			return plan{c.taintStep(node, true), c.servingElsewhereStep(h, node, s.Selector, o.timeout)}, nil
		}),
	}
	addDryRun(cmd, o)
	cmd.Flags().DurationVar(&stale, "stale-after", 40*time.Second, "how long the node's Lease must have gone unrenewed (the kubelet renews it every 10 s)")
	return cmd
}

func nodeBackCommand(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "node-back NODE",
		Short: "Remove the out-of-service taint from a node that is back",
		Long: `node-back removes the out-of-service taint node-lost set, once the node is back:
Ready again.

Refused, with nothing changed, while the node is not Ready: the taint is what keeps
pods, the Hub's among them, off a node that is not there.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			began := time.Now()
			c, _, err := o.connect(ctx)
			if err != nil {
				return err
			}
			node := args[0]
			ready, _, err := c.nodeHealth(ctx, node, began)
			if err != nil {
				return err
			}
			if !ready {
				return refuse("node %s is not back (not Ready): the taint keeps pods off it until it is", node)
			}
			return plan{c.taintStep(node, false)}.run(ctx, o.streams.Out, o.dryRun, began)
		},
	}
	addDryRun(cmd, o)
	return cmd
}

// nodeHealth is whether the node is Ready, and how long ago its kubelet
// last renewed its Lease.
func (c *Clients) nodeHealth(ctx context.Context, node string, now time.Time) (bool, time.Duration, error) {
	n, err := c.Core.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		return false, 0, fmt.Errorf("read node %s: %w", node, err)
	}
	ready := false
	for _, cond := range n.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			ready = cond.Status == corev1.ConditionTrue
		}
	}
	// No Lease, or one never renewed: no heartbeat at all.
	renewed := time.Duration(1<<63 - 1)
	lease, err := c.Core.CoordinationV1().Leases(nodeLeases).Get(ctx, node, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return false, 0, fmt.Errorf("read node %s's Lease, %s/%s: %w", node, nodeLeases, node, err)
	case lease.Spec.RenewTime != nil:
		renewed = now.Sub(lease.Spec.RenewTime.Time)
	}
	return ready, renewed, nil
}

// nodeGone refuses a node that may still run the Hub.
func (c *Clients) nodeGone(ctx context.Context, node string, stale time.Duration, now time.Time) error {
	ready, renewed, err := c.nodeHealth(ctx, node, now)
	if err != nil {
		return err
	}
	switch {
	case ready:
		return refuse("node %s is Ready: it is not lost, and the taint would kill the Hub where it runs", node)
	case renewed < stale:
		return refuse("node %s is NotReady but its kubelet renewed its Lease %s ago: its kubelet is alive and may still run the Hub; wait until the Lease is %s stale, and make sure the node is off", node, renewed.Round(time.Second), stale)
	}
	return nil
}

// taintStep adds (or removes) the out-of-service taint.
func (c *Clients) taintStep(node string, add bool) step {
	taint := outOfService()
	what, line := fmt.Sprintf("node %s tainted out of service", node), fmt.Sprintf("kubectl taint node %s %s=%s:%s", node, taint.Key, taint.Value, taint.Effect)
	if !add {
		what, line = fmt.Sprintf("node %s's out-of-service taint removed", node), line+"-"
	}
	return step{
		what:    what,
		kubectl: []string{line},
		do: func(ctx context.Context) error {
			return retry.RetryOnConflict(retry.DefaultRetry, func() error {
				n, err := c.Core.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
				if err != nil {
					return fmt.Errorf("read node %s: %w", node, err)
				}
				has := slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.MatchTaint(&taint) })
				switch {
				case add && has, !add && !has:
					return nil
				case add:
					n.Spec.Taints = append(n.Spec.Taints, taint)
				default:
					n.Spec.Taints = slices.DeleteFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.MatchTaint(&taint) })
				}
				_, err = c.Core.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
				return err
			})
		},
	}
}

// servingElsewhereStep waits until the Hub serves from a pod on another
// node than lost.
func (c *Clients) servingElsewhereStep(h Hub, lost, selector string, timeout time.Duration) step {
	return step{
		what:    "the Hub serving on another node",
		kubectl: []string{fmt.Sprintf("kubectl -n %s wait --for=condition=Ready pod -l %s --field-selector spec.nodeName!=%s --timeout=%s", h.Namespace, selector, lost, kubectlDuration(timeout))},
		do: func(ctx context.Context) error {
			err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
				s, err := c.status(ctx, h)
				if err != nil {
					return false, err
				}
				for _, p := range s.Pods {
					if p.Node != lost && p.Node != "" && slices.Contains(s.ServedBy, p.Name) {
						return true, nil
					}
				}
				return false, nil
			})
			if wait.Interrupted(err) {
				return &Error{Code: TimedOut, Err: fmt.Errorf("%s/%s is not serving on another node after %s: kubectl hubkit -n %s status", h.Namespace, h.Ref(), timeout, h.Namespace)}
			}
			return err
		},
	}
}
