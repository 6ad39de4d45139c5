package cluster

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/kustomize/kyaml/kio"
)

// Applier applies rendered manifests with server-side apply, as `kubectl
// apply --server-side` does, and keeps every warning the server sends.
type Applier struct {
	dyn      dynamic.Interface
	mapper   *restmapper.DeferredDiscoveryRESTMapper
	warnings *warnings
}

type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, message string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, message)
}

// NewApplier makes an Applier for the cluster.
func (c *Cluster) NewApplier() (*Applier, error) {
	w := &warnings{}
	cfg := rest.CopyConfig(c.Config)
	cfg.WarningHandler = w
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("discovery client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	return &Applier{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc)), warnings: w}, nil
}

// Warnings returns the warnings the server has sent so far.
func (a *Applier) Warnings() []string {
	a.warnings.mu.Lock()
	defer a.warnings.mu.Unlock()
	return append([]string(nil), a.warnings.list...)
}

// Objects decodes multi-document YAML into objects, in order.
func Objects(rendered []byte) ([]*unstructured.Unstructured, error) {
	nodes, err := (&kio.ByteReader{Reader: bytes.NewReader(rendered), OmitReaderAnnotations: true}).Read()
	if err != nil {
		return nil, fmt.Errorf("read manifests: %w", err)
	}
	var out []*unstructured.Unstructured
	for _, n := range nodes {
		// Through JSON, so numbers are int64 and the objects deep-copy.
		b, err := n.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", n.GetKind(), n.GetName(), err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(b); err != nil {
			return nil, fmt.Errorf("%s %s: %w", n.GetKind(), n.GetName(), err)
		}
		out = append(out, u)
	}
	return out, nil
}

// Apply server-side applies each object (dry-run when dryRun), stopping at
// the first the server refuses. An object an earlier Delete left in the
// garbage collector's hands is waited out first: applied to, it would
// still go, and a test after the one that deleted it would run without it.
func (a *Applier) Apply(ctx context.Context, objs []*unstructured.Unstructured, dryRun bool) error {
	for _, o := range objs {
		ri, err := a.resource(ctx, o.GroupVersionKind(), o.GetNamespace())
		if err != nil {
			return err
		}
		opts := metav1.ApplyOptions{FieldManager: "hubkit-e2e", Force: true}
		if dryRun {
			opts.DryRun = []string{metav1.DryRunAll}
		} else if err := deletionDone(ctx, ri, o); err != nil {
			return err
		}
		if _, err := ri.Apply(ctx, o.GetName(), o, opts); err != nil {
			return fmt.Errorf("apply %s %s/%s: %w", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}
	return nil
}

// Delete deletes each object, in reverse order, waiting for nothing.
func (a *Applier) Delete(ctx context.Context, objs []*unstructured.Unstructured) error {
	foreground := metav1.DeletePropagationForeground
	for i := len(objs) - 1; i >= 0; i-- {
		o := objs[i]
		ri, err := a.resource(ctx, o.GroupVersionKind(), o.GetNamespace())
		if err != nil {
			return err
		}
		if err := ri.Delete(ctx, o.GetName(), metav1.DeleteOptions{PropagationPolicy: &foreground}); err != nil {
			return fmt.Errorf("delete %s %s/%s: %w", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}
	return nil
}

// deletionTimeout bounds the wait for an earlier deletion of an object
// about to be applied.
const deletionTimeout = 2 * time.Minute

// deletionDone waits until o is not being deleted: absent, or live.
func deletionDone(ctx context.Context, ri dynamic.ResourceInterface, o *unstructured.Unstructured) error {
	var seen *unstructured.Unstructured
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, deletionTimeout, true, func(ctx context.Context) (bool, error) {
		live, err := ri.Get(ctx, o.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("get %s %s/%s: %w", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
		seen = live
		return live.GetDeletionTimestamp() == nil, nil
	})
	if err != nil && seen != nil {
		return fmt.Errorf("%s %s/%s is still being deleted (finalizers %v): %w", o.GetKind(), o.GetNamespace(), o.GetName(), seen.GetFinalizers(), err)
	}
	return err
}

// Remaining lists those of objs still on the cluster, as kind/name: a
// delete returns before the garbage collector has removed an object
// deleted in the foreground, which until then is still served.
func (a *Applier) Remaining(ctx context.Context, objs []*unstructured.Unstructured) ([]string, error) {
	var left []string
	for _, o := range objs {
		ri, err := a.resource(ctx, o.GroupVersionKind(), o.GetNamespace())
		if err != nil {
			return nil, err
		}
		_, err = ri.Get(ctx, o.GetName(), metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return nil, fmt.Errorf("get %s %s/%s: %w", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		default:
			left = append(left, o.GetKind()+"/"+o.GetName())
		}
	}
	return left, nil
}

func (a *Applier) resource(ctx context.Context, gvk schema.GroupVersionKind, namespace string) (dynamic.ResourceInterface, error) {
	// A CRD established a moment ago can take a few seconds to reach
	// discovery: ask again, afresh, for up to 10 s before giving up.
	var m *meta.RESTMapping
	var err error
	_ = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		if m, err = a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version); meta.IsNoMatchError(err) {
			a.mapper.Reset()
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s is not served by the cluster: %w", gvk, err)
	}
	if m.Scope.Name() == "namespace" {
		return a.dyn.Resource(m.Resource).Namespace(namespace), nil
	}
	return a.dyn.Resource(m.Resource), nil
}
