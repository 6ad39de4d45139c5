package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hubkit/hubkit/internal/hub"
	"github.com/hubkit/hubkit/internal/names"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
)

// Labeler keeps one pod's role label equal to what its Hub reports.
type Labeler struct {
	Readyz string                   // the Hub's hub.Readyz, on localhost
	HTTP   *http.Client             // with a timeout
	Pods   typedcorev1.PodInterface // the pod's namespace
	Pod    string                   // the pod's name, the Hub's node id
	Peers  []string                 // the other members' pods: labelled secondary before this one is labelled primary
	Resync time.Duration            // write the label this often even unchanged; 0: only on a change
	Log    io.Writer                // one line per role change
	role   string                   // the label last written
	wrote  time.Time                // when
	now    func() time.Time         // time.Now, or a test's clock
}

// Role asks the Hub its role: primary only when /v2/readyz answers 200 and
// says HA mode, role primary, this node; anything else (503, no answer, a
// standalone Hub, another node's id) is secondary, so that the Service
// never reaches a member that is not the primary. why says what it saw.
func (l *Labeler) Role(ctx context.Context) (role, why string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.Readyz, nil)
	if err != nil {
		return names.HARoleSecondary, err.Error()
	}
	resp, err := l.HTTP.Do(req)
	if err != nil {
		return names.HARoleSecondary, "the Hub does not answer: " + err.Error()
	}
	defer resp.Body.Close()
	var d hub.Health
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&d); err != nil {
		return names.HARoleSecondary, fmt.Sprintf("HTTP %d, a body that is not the documented JSON: %v", resp.StatusCode, err)
	}
	got := d.Deployment
	switch {
	case resp.StatusCode != http.StatusOK:
		return names.HARoleSecondary, fmt.Sprintf("HTTP %d, role %q", resp.StatusCode, got.Role)
	case got.Mode != hub.ModeHA:
		return names.HARoleSecondary, fmt.Sprintf("mode %q: not in HA mode", got.Mode)
	case got.NodeID != l.Pod:
		return names.HARoleSecondary, fmt.Sprintf("node id %q is not this pod's name %q", got.NodeID, l.Pod)
	case got.Role != names.HARolePrimary:
		return names.HARoleSecondary, fmt.Sprintf("HTTP 200, role %q", got.Role)
	}
	return names.HARolePrimary, "HTTP 200, role primary"
}

// Step asks the Hub once and writes the label if it changed (or is due for
// a resync).
func (l *Labeler) Step(ctx context.Context) error {
	role, why := l.Role(ctx)
	return l.set(ctx, role, why)
}

func (l *Labeler) set(ctx context.Context, role, why string) error {
	now := l.clock()
	if role == l.role && (l.Resync <= 0 || now.Sub(l.wrote) < l.Resync) {
		return nil
	}
	if role == names.HARolePrimary && l.role != names.HARolePrimary {
		// The Hub was made primary, so no other member's Hub is: a
		// member whose sidecar cannot say so (its node lost, its pod
		// still Ready until the node is found NotReady) loses the label
		// now, before this one takes it, so that the Service never holds
		// two primaries' addresses.
		for _, peer := range l.Peers {
			if err := l.label(ctx, peer, names.HARoleSecondary); err != nil && !apierrors.IsNotFound(err) {
				return err
			}
		}
	}
	if err := l.label(ctx, l.Pod, role); err != nil {
		return err
	}
	if role != l.role && l.Log != nil {
		fmt.Fprintf(l.Log, "%s %s=%s (%s)\n", l.Pod, names.HARoleLabel, role, why)
	}
	l.role, l.wrote = role, now
	return nil
}

// label writes pod's role label.
func (l *Labeler) label(ctx context.Context, pod, role string) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]string{names.HARoleLabel: role}}})
	if err != nil {
		return err
	}
	if _, err := l.Pods.Patch(ctx, pod, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "hubkit-ha-role"}); err != nil {
		return fmt.Errorf("label pod %s %s=%s: %w", pod, names.HARoleLabel, role, err)
	}
	return nil
}

// Peers are the names of the other members of a StatefulSet's group of
// members pods, from this member's name (<statefulset>-<ordinal>).
func Peers(pod string, members int) ([]string, error) {
	i := strings.LastIndex(pod, "-")
	ordinal, err := strconv.Atoi(pod[i+1:])
	if i < 0 || err != nil || ordinal < 0 {
		return nil, fmt.Errorf("pod %q is not a StatefulSet's member <name>-<ordinal>", pod)
	}
	if ordinal >= members {
		return nil, fmt.Errorf("pod %q is ordinal %d of a group of %d members", pod, ordinal, members)
	}
	var peers []string
	for n := range members {
		if n != ordinal {
			peers = append(peers, pod[:i+1]+strconv.Itoa(n))
		}
	}
	return peers, nil
}

func (l *Labeler) clock() time.Time {
	if l.now != nil {
		return l.now()
	}
	return time.Now()
}

// Run steps every period until ctx ends, then labels the pod secondary (a
// Hub that stops hands over; the Service should stop sending to it now).
// A failed write is logged and tried again at the next step.
func (l *Labeler) Run(ctx context.Context, period time.Duration) error {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		if err := l.Step(ctx); err != nil && !errors.Is(err, context.Canceled) && l.Log != nil {
			fmt.Fprintln(l.Log, err)
		}
		select {
		case <-ctx.Done():
			if l.role == names.HARolePrimary {
				stop, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				return l.set(stop, names.HARoleSecondary, "stopping")
			}
			return nil
		case <-t.C:
		}
	}
}
