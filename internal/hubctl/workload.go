package hubctl

import (
	"context"
	"fmt"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// workload reads the Hub's Deployment or StatefulSet: its metadata, its
// pod template, the replicas it asks and has ready, its selector.
func (c *Clients) workload(ctx context.Context, h Hub) (metav1.Object, corev1.PodTemplateSpec, int32, int32, *metav1.LabelSelector, error) {
	switch h.Kind {
	case "StatefulSet":
		s, err := c.Core.AppsV1().StatefulSets(h.Namespace).Get(ctx, h.Name, metav1.GetOptions{})
		if err != nil {
			return nil, corev1.PodTemplateSpec{}, 0, 0, nil, fmt.Errorf("read %s/%s: %w", h.Namespace, h.Ref(), err)
		}
		return s, s.Spec.Template, deref(s.Spec.Replicas), s.Status.ReadyReplicas, s.Spec.Selector, nil
	default:
		d, err := c.Core.AppsV1().Deployments(h.Namespace).Get(ctx, h.Name, metav1.GetOptions{})
		if err != nil {
			return nil, corev1.PodTemplateSpec{}, 0, 0, nil, fmt.Errorf("read %s/%s: %w", h.Namespace, h.Ref(), err)
		}
		return d, d.Spec.Template, deref(d.Spec.Replicas), d.Status.ReadyReplicas, d.Spec.Selector, nil
	}
}

func deref(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

// scale sets the Hub's replicas through the scale subresource, as
// kubectl scale does (the guard allows 0 and the Hub's own count).
func (c *Clients) scale(ctx context.Context, h Hub, replicas int32) error {
	sc := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: h.Name, Namespace: h.Namespace}, Spec: autoscalingv1.ScaleSpec{Replicas: replicas}}
	var err error
	if h.Kind == "StatefulSet" {
		_, err = c.Core.AppsV1().StatefulSets(h.Namespace).UpdateScale(ctx, h.Name, sc, metav1.UpdateOptions{})
	} else {
		_, err = c.Core.AppsV1().Deployments(h.Namespace).UpdateScale(ctx, h.Name, sc, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("scale %s/%s to %d: %w", h.Namespace, h.Ref(), replicas, err)
	}
	return nil
}
