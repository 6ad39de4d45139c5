package scenario

import (
	"context"
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// VolumeSnapshots are the CSI snapshot API's VolumeSnapshots.
var VolumeSnapshots = schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshots"}

// WaitSnapshotReady waits until the VolumeSnapshot name in ns is ready to
// use (the storage has taken it: a claim can be made from it), and returns
// it.
func WaitSnapshotReady(t testing.TB, dyn dynamic.Interface, ns, name string) *unstructured.Unstructured {
	t.Helper()
	var snap *unstructured.Unstructured
	Until(t, "VolumeSnapshot "+ns+"/"+name+" ready to use", 2*time.Minute, func(ctx context.Context) (bool, string, error) {
		s, err := dyn.Resource(VolumeSnapshots).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		ready, _, _ := unstructured.NestedBool(s.Object, "status", "readyToUse")
		status, _, _ := unstructured.NestedMap(s.Object, "status")
		snap = s
		return ready, fmt.Sprintf("status %v", status), nil
	})
	return snap
}

// WaitObjectGone waits until the object called name is gone from r (its
// finalizers done), so that one of the same name can be made again.
func WaitObjectGone(t testing.TB, r dynamic.ResourceInterface, name string) {
	t.Helper()
	Until(t, "object "+name+" gone", 2*time.Minute, func(ctx context.Context) (bool, string, error) {
		o, err := r.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		if err != nil {
			return false, "", err
		}
		return false, fmt.Sprintf("%s still there (deleting: %t, finalizers %v)", name, o.GetDeletionTimestamp() != nil, o.GetFinalizers()), nil
	})
}
