package hubctl

import (
	"context"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	appdatacopy "github.com/hubkit/hubkit/backup/copy"
	"github.com/hubkit/hubkit/internal/names"
)

// The copy of appData, where there are no CSI snapshots: the runbooks "a
// copy without CSI snapshots" and "the Hub back from the copy", with
// backup/copy's own claim and Jobs, made for the Hub's namespace and claim.

// copyClaimOf is the name of the copy's claim of the Hub's claim.
func copyClaimOf(claim string) string { return claim + "-copy" }

// pausing is the owner the command pauses first and resumes last: one that
// reconciles, when asked to; refused otherwise.
func (c *Clients) pausing(s *Status, pauseOwner bool, why string) (*Owner, error) {
	ow := s.Owner
	if ow == nil || !ow.Reconciles && ow.Unknown == "" {
		return nil, nil
	}
	if !pauseOwner {
		return nil, refuse("%s applies %s/%s and reconciles: %s. Pass --pause-owner, or pause it yourself: %s", ow, s.Hub.Namespace, s.Hub.Ref(), why, c.pauseStep(ow, true).kubectl[0])
	}
	return ow, nil
}

// copySteps are the runbook "a copy without CSI snapshots" (restore false)
// or "the Hub back from the copy" (restore true).
func (c *Clients) copySteps(ctx context.Context, s *Status, restore, pauseOwner bool, timeout time.Duration) (plan, error) {
	h := s.Hub
	if h.HA() || len(h.Claims) != 1 {
		return nil, refuse("%s/%s has %d claims: kubectl hubkit copies a singleton's one claim", h.Namespace, h.Ref(), len(h.Claims))
	}
	claim := h.Claims[0]
	why := "it would scale the Hub back up under the copy"
	if restore {
		why = "it would scale the Hub back up under the restore"
	}
	owner, err := c.pausing(s, pauseOwner, why)
	if err != nil {
		return nil, err
	}
	copyClaim, err := appdatacopy.Claim()
	if err != nil {
		return nil, err
	}
	file, read := appdatacopy.CopyJobFile, appdatacopy.CopyJob
	if restore {
		file, read = appdatacopy.RestoreJobFile, appdatacopy.RestoreJob
	}
	job, err := read()
	if err != nil {
		return nil, err
	}
	asFile := job.DeepCopy()
	job.Namespace = h.Namespace
	for i, v := range job.Spec.Template.Spec.Volumes {
		switch {
		case v.PersistentVolumeClaim == nil:
		case v.PersistentVolumeClaim.ClaimName == names.AppDataClaim:
			job.Spec.Template.Spec.Volumes[i].PersistentVolumeClaim.ClaimName = claim
		case v.PersistentVolumeClaim.ClaimName == copyClaim.Name:
			job.Spec.Template.Spec.Volumes[i].PersistentVolumeClaim.ClaimName = copyClaimOf(claim)
		}
	}
	apply := "kubectl apply -f " + file
	if !equality.Semantic.DeepEqual(asFile, job) {
		doc, err := manifest(job)
		if err != nil {
			return nil, err
		}
		apply = "kubectl apply -f - <<'EOF'\n" + doc + "EOF"
	}

	var p plan
	if owner != nil {
		p = append(p, c.pauseStep(owner, true))
	}
	p = append(p, c.scaleStep(h, 0), c.podsGoneStep(h, s.Selector, timeout))
	if restore {
		if _, err := c.Core.CoreV1().PersistentVolumeClaims(h.Namespace).Get(ctx, copyClaimOf(claim), metav1.GetOptions{}); apierrors.IsNotFound(err) {
			return nil, refuse("there is no copy of claim %s (claim %s): take one with kubectl hubkit copy", claim, copyClaimOf(claim))
		}
	} else {
		step, err := c.copyClaimStep(h, claim, copyClaim)
		if err != nil {
			return nil, err
		}
		p = append(p, step)
	}
	p = append(p, c.jobStep(job, apply, timeout), c.scaleStep(h, int32(h.Members)), c.servingStep(h, timeout))
	if owner != nil {
		p = append(p, c.pauseStep(owner, false))
	}
	return p, nil
}

// copyClaimStep makes the copy's claim, once, as large as the Hub's.
func (c *Clients) copyClaimStep(h Hub, claim string, fromFile *corev1.PersistentVolumeClaim) (step, error) {
	want := fromFile.DeepCopy()
	want.Name, want.Namespace = copyClaimOf(claim), h.Namespace
	apply := "kubectl apply -f " + appdatacopy.ClaimFile
	return step{
		what:    fmt.Sprintf("claim %s there, for the copy", want.Name),
		kubectl: []string{apply},
		do: func(ctx context.Context) error {
			pvcs := c.Core.CoreV1().PersistentVolumeClaims(h.Namespace)
			if _, err := pvcs.Get(ctx, want.Name, metav1.GetOptions{}); err == nil {
				return nil
			}
			hub, err := pvcs.Get(ctx, claim, metav1.GetOptions{})
			if err != nil {
				return fmt.Errorf("read claim %s/%s: %w", h.Namespace, claim, err)
			}
			if size, ok := hub.Spec.Resources.Requests[corev1.ResourceStorage]; ok && size.Cmp(want.Spec.Resources.Requests[corev1.ResourceStorage]) > 0 {
				want.Spec.Resources.Requests[corev1.ResourceStorage] = size
			}
			if _, err := pvcs.Create(ctx, want, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("make claim %s/%s: %w", h.Namespace, want.Name, err)
			}
			return nil
		},
	}, nil
}

// jobStep runs the Job anew (the last run's deleted first) and waits until
// it completes; it fails at once when the Job fails.
func (c *Clients) jobStep(job *batchv1.Job, apply string, timeout time.Duration) step {
	ns, name := job.Namespace, job.Name
	return step{
		what: fmt.Sprintf("job/%s complete", name),
		kubectl: []string{
			fmt.Sprintf("kubectl -n %s delete job %s --ignore-not-found", ns, name),
			apply,
			fmt.Sprintf("kubectl -n %s wait job/%s --for=condition=Complete --timeout=%s", ns, name, kubectlDuration(timeout)),
		},
		do: func(ctx context.Context) error {
			jobs := c.Core.BatchV1().Jobs(ns)
			err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
				err := jobs.Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)})
				return apierrors.IsNotFound(err), nil
			})
			if err != nil {
				return fmt.Errorf("the last job/%s is still there: %w", name, err)
			}
			if _, err := jobs.Create(ctx, job, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("create job %s/%s: %w", ns, name, err)
			}
			err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
				j, err := jobs.Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					return false, fmt.Errorf("read job %s/%s: %w", ns, name, err)
				}
				for _, cond := range j.Status.Conditions {
					switch {
					case cond.Status != corev1.ConditionTrue:
					case cond.Type == batchv1.JobComplete:
						return true, nil
					case cond.Type == batchv1.JobFailed:
						return false, fmt.Errorf("job %s/%s failed: %s (kubectl -n %s logs job/%s)", ns, name, cond.Message, ns, name)
					}
				}
				return false, nil
			})
			if wait.Interrupted(err) && ctx.Err() == nil {
				return &Error{Code: TimedOut, Err: fmt.Errorf("job %s/%s not complete after %s: kubectl -n %s describe job %s", ns, name, timeout, ns, name)}
			}
			return err
		},
	}
}

// kubectlDuration writes d as a person writes it for kubectl: 5m, 90s.
func kubectlDuration(d time.Duration) string {
	switch {
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.String()
}
