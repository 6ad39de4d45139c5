package hubctl

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// The GitOps tools' marks on what they apply, and their objects.
const (
	// argoTracking is Argo CD's annotation tracking (v3's default):
	// <app>:<group>/<kind>:<namespace>/<name>, the app as <namespace>_<name>
	// where Applications live in any namespace.
	argoTracking = "argocd.argoproj.io/tracking-id"
	// argoNamespace is where Argo CD's Applications live by default.
	argoNamespace = "argocd"
	// fluxName and fluxNamespace name the Flux Kustomization that applied
	// an object.
	fluxName      = "kustomize.toolkit.fluxcd.io/name"
	fluxNamespace = "kustomize.toolkit.fluxcd.io/namespace"
)

var (
	applications   = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}
	kustomizations = schema.GroupVersionResource{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Resource: "kustomizations"}
)

// Owner is the GitOps tool that applies the Hub, if any.
type Owner struct {
	// Tool is "Argo CD" or "Flux".
	Tool      string `json:"tool"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Reconciles says whether it undoes a change made beside it now: an
	// Argo CD Application that syncs by itself, a Flux Kustomization not
	// suspended. False once paused.
	Reconciles bool `json:"reconciles"`
	// SelfHeals says whether Argo CD also reverts drift between commits
	// (Flux always does, while it reconciles).
	SelfHeals bool `json:"selfHeals"`
	// Unknown says why Reconciles could not be read (RBAC), if so.
	Unknown string `json:"unknown,omitempty"`
}

func (o Owner) String() string { return fmt.Sprintf("%s %s/%s", o.Tool, o.Namespace, o.Name) }

// ownerOf reads the owner's marks on the Hub's workload.
func ownerOf(obj metav1.Object) *Owner {
	if id := obj.GetAnnotations()[argoTracking]; id != "" {
		app, _, _ := strings.Cut(id, ":")
		ns, name, ok := strings.Cut(app, "_")
		if !ok {
			ns, name = argoNamespace, app
		}
		return &Owner{Tool: "Argo CD", Namespace: ns, Name: name}
	}
	if name := obj.GetLabels()[fluxName]; name != "" {
		return &Owner{Tool: "Flux", Namespace: obj.GetLabels()[fluxNamespace], Name: name}
	}
	return nil
}

func (o *Owner) resource() schema.GroupVersionResource {
	if o.Tool == "Flux" {
		return kustomizations
	}
	return applications
}

// read fills in whether the owner reconciles now.
func (c *Clients) readOwner(ctx context.Context, o *Owner) {
	u, err := c.Dynamic.Resource(o.resource()).Namespace(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsForbidden(err):
		o.Unknown = "not allowed to read it"
		return
	case err != nil:
		o.Unknown = err.Error()
		return
	}
	if o.Tool == "Flux" {
		suspended, _, _ := unstructured.NestedBool(u.Object, "spec", "suspend")
		o.Reconciles, o.SelfHeals = !suspended, !suspended
		return
	}
	automated, ok, _ := unstructured.NestedMap(u.Object, "spec", "syncPolicy", "automated")
	if !ok || automated == nil {
		return
	}
	enabled, set, _ := unstructured.NestedBool(automated, "enabled")
	o.Reconciles = !set || enabled
	selfHeal, _, _ := unstructured.NestedBool(automated, "selfHeal")
	o.SelfHeals = o.Reconciles && selfHeal
}

// pausePatch is the merge patch that pauses (or, !pause, resumes) the
// owner: the runbooks' own (docs/backup.md).
func (o *Owner) pausePatch(pause bool) []byte {
	var p any
	if o.Tool == "Flux" {
		p = map[string]any{"spec": map[string]any{"suspend": pause}}
	} else {
		p = map[string]any{"spec": map[string]any{"syncPolicy": map[string]any{"automated": map[string]any{"enabled": !pause}}}}
	}
	b, _ := json.Marshal(p)
	return b
}

// pauseStep pauses (or resumes) the owner, as the runbooks' kubectl line.
func (c *Clients) pauseStep(o *Owner, pause bool) step {
	kind, verb := "application", "pause"
	if o.Tool == "Flux" {
		kind = "kustomization"
	}
	if !pause {
		verb = "resume"
	}
	patch := o.pausePatch(pause)
	return step{
		what:    fmt.Sprintf("%s %s", verb, o),
		kubectl: []string{fmt.Sprintf("kubectl -n %s patch %s %s --type merge -p '%s'", o.Namespace, kind, o.Name, patch)},
		do: func(ctx context.Context) error {
			_, err := c.Dynamic.Resource(o.resource()).Namespace(o.Namespace).Patch(ctx, o.Name, types.MergePatchType, patch, metav1.PatchOptions{})
			if err != nil {
				return fmt.Errorf("%s %s: %w", verb, o, err)
			}
			return nil
		},
	}
}
