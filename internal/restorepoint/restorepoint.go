// Package restorepoint is what a restore point of a Hub is: a
// VolumeSnapshot of its claim, labelled with the Hub's version and who took
// it, named after both. kubectl hubkit takes them when asked (snapshot) and
// the restore-point init container before every upgrade (BeforeUpgrade),
// both through this package.
package restorepoint

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"

	"github.com/hubkit/hubkit/internal/names"
)

// VolumeSnapshots and VolumeSnapshotClasses are the CSI snapshot API's.
var (
	VolumeSnapshots       = schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshots"}
	VolumeSnapshotClasses = schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshotclasses"}
)

// Point is a VolumeSnapshot of one of the Hub's claims.
type Point struct {
	Name        string      `json:"name"`
	Claim       string      `json:"claim"`
	Created     metav1.Time `json:"created"`
	Ready       bool        `json:"ready"`
	Version     string      `json:"version,omitempty"`
	TakenBy     string      `json:"takenBy,omitempty"`
	RestoreSize string      `json:"restoreSize,omitempty"`
	Error       string      `json:"error,omitempty"`
}

// Of reads a VolumeSnapshot as a restore point.
func Of(u unstructured.Unstructured) Point {
	p := Point{Name: u.GetName(), Created: u.GetCreationTimestamp(), Version: u.GetLabels()[names.HubVersionLabel], TakenBy: u.GetLabels()[names.RestorePointLabel]}
	p.Claim, _, _ = unstructured.NestedString(u.Object, "spec", "source", "persistentVolumeClaimName")
	p.Ready, _, _ = unstructured.NestedBool(u.Object, "status", "readyToUse")
	p.RestoreSize, _, _ = unstructured.NestedString(u.Object, "status", "restoreSize")
	p.Error, _, _ = unstructured.NestedString(u.Object, "status", "error", "message")
	return p
}

// VersionOf is an image's tag, or its digest's first twelve hex digits
// (sha256-0123456789ab) when it has none: a label value either way.
func VersionOf(image string) string {
	name, digest, _ := strings.Cut(image, "@")
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		return name[i+1:]
	}
	if algo, hex, ok := strings.Cut(digest, ":"); ok && len(hex) >= 12 {
		return algo + "-" + hex[:12]
	}
	return "latest"
}

// Name is the name of a restore point of claim, of version, taken at.
func Name(claim, version string, at time.Time) string {
	name := strings.ToLower(fmt.Sprintf("%s-%s-%s", claim, version, at.UTC().Format("20060102-150405")))
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '-'
	}, name)
}

// New is the VolumeSnapshot of claim in ns holding version's data, taken
// by takenBy (names.RestorePointManual or names.RestorePointUpgrade) at;
// class "" leaves the class to the snapshot controller (the driver's
// default).
func New(ns, claim, class, version, takenBy string, at time.Time) *unstructured.Unstructured {
	spec := map[string]any{"source": map[string]any{"persistentVolumeClaimName": claim}}
	if class != "" {
		spec["volumeSnapshotClassName"] = class
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "snapshot.storage.k8s.io/v1",
		"kind":       "VolumeSnapshot",
		"metadata": map[string]any{
			"name":      Name(claim, version, at),
			"namespace": ns,
			"labels": map[string]any{
				"app.kubernetes.io/part-of": "hubkit",
				names.RestorePointLabel:     takenBy,
				names.HubVersionLabel:       version,
				names.ClaimLabel:            claim,
			},
		},
		"spec": spec,
	}}
}

// ErrNotReady is WaitReady's error when the snapshot is not ready in time.
var ErrNotReady = errors.New("not ready in time")

// WaitReady waits until the snapshot is ready to use; it fails at once on
// the snapshot's own error, and with ErrNotReady after timeout.
func WaitReady(ctx context.Context, dyn dynamic.Interface, ns, name string, timeout time.Duration) (Point, error) {
	var last Point
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		u, err := dyn.Resource(VolumeSnapshots).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, fmt.Errorf("read VolumeSnapshot %s/%s: %w", ns, name, err)
		}
		last = Of(*u)
		if last.Error != "" {
			return false, fmt.Errorf("VolumeSnapshot %s/%s failed: %s", ns, name, last.Error)
		}
		return last.Ready, nil
	})
	if wait.Interrupted(err) && ctx.Err() == nil {
		return last, fmt.Errorf("VolumeSnapshot %s/%s: %w after %s", ns, name, ErrNotReady, timeout)
	}
	return last, err
}
