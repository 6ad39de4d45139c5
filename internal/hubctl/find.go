package hubctl

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hubkit/hubkit/internal/names"
)

// Hub is a singleton (or an HA group) as the function declared it to the
// guard: its namespace's hubkit-singletons ConfigMap, which every render
// of hubkit carries, names its workload and its claims.
type Hub struct {
	Namespace string `json:"namespace"`
	// Kind is Deployment or StatefulSet.
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Members is 1 for a singleton, the group's size for an HA group.
	Members int `json:"members"`
	// Claims holds each member's claim of appData.
	Claims []string `json:"claims"`
}

// HA says whether the Hub is an HA group.
func (h Hub) HA() bool { return h.Members > 1 }

// Ref is kind/name, as kubectl writes it: deployment/hbih.
func (h Hub) Ref() string { return strings.ToLower(h.Kind) + "/" + h.Name }

// kindOf is the workload's kind a guard key names, as
// names.GuardWorkloadKey writes it, or "".
func kindOf(key string) string {
	switch key {
	case "deployment":
		return "Deployment"
	case "statefulset":
		return "StatefulSet"
	}
	return ""
}

// hubsOf reads the singletons and HA groups a guard parameters ConfigMap
// declares, sorted by name.
func hubsOf(ns string, data map[string]string) ([]Hub, error) {
	var hubs []Hub
	for key, value := range data {
		switch {
		case strings.HasPrefix(key, names.GuardClaimPrefix):
		case strings.HasPrefix(key, names.GuardHAPrefix+names.GuardClaimPrefix):
		case strings.HasPrefix(key, names.GuardHAPrefix):
			sts := strings.TrimPrefix(key, names.GuardHAGroupKey(""))
			if sts == key || sts == "" {
				return nil, fmt.Errorf("ConfigMap %s/%s: key %s is no HA group's (want %s)", ns, names.GuardParams, key, names.GuardHAGroupKey("<name>"))
			}
			members, err := strconv.Atoi(value)
			if err != nil || members < 2 {
				return nil, fmt.Errorf("ConfigMap %s/%s: key %s is %q, want the group's members, 2 or more", ns, names.GuardParams, key, value)
			}
			h := Hub{Namespace: ns, Kind: "StatefulSet", Name: sts, Members: members}
			for k, v := range data {
				template, ok := strings.CutPrefix(k, names.GuardHAPrefix+names.GuardClaimPrefix)
				if !ok || v != sts {
					continue
				}
				template = strings.TrimSuffix(template, "-"+sts)
				for i := range members {
					h.Claims = append(h.Claims, fmt.Sprintf("%s-%s-%d", template, sts, i))
				}
			}
			hubs = append(hubs, h)
		default:
			kind, name, ok := strings.Cut(key, ".")
			if !ok || kindOf(kind) == "" {
				return nil, fmt.Errorf("ConfigMap %s/%s: key %s names no workload (want deployment.<name> or statefulset.<name>)", ns, names.GuardParams, key)
			}
			h := Hub{Namespace: ns, Kind: kindOf(kind), Name: name, Members: 1}
			for k, v := range data {
				if claim, ok := strings.CutPrefix(k, names.GuardClaimPrefix); ok && v == h.Kind+"/"+name {
					h.Claims = append(h.Claims, claim)
				}
			}
			hubs = append(hubs, h)
		}
	}
	for i := range hubs {
		slices.Sort(hubs[i].Claims)
	}
	slices.SortFunc(hubs, func(a, b Hub) int { return strings.Compare(a.Name, b.Name) })
	return hubs, nil
}

// findHub is the Hub in ns: the one singleton or HA group its guard
// parameters declare, or the one named.
func (c *Clients) findHub(ctx context.Context, ns, name string) (Hub, error) {
	cm, err := c.Core.CoreV1().ConfigMaps(ns).Get(ctx, names.GuardParams, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return Hub{}, refuse("namespace %s has no ConfigMap %s, which every render of hubkit carries: name the Hub's namespace with -n", ns, names.GuardParams)
	}
	if err != nil {
		return Hub{}, fmt.Errorf("read the Hub's declaration, ConfigMap %s/%s: %w", ns, names.GuardParams, err)
	}
	hubs, err := hubsOf(ns, cm.Data)
	if err != nil {
		return Hub{}, err
	}
	var found []string
	for _, h := range hubs {
		if name == "" || h.Name == name {
			found = append(found, h.Ref())
		}
	}
	switch {
	case len(found) == 1:
		return hubs[slices.IndexFunc(hubs, func(h Hub) bool { return h.Ref() == found[0] })], nil
	case name != "":
		return Hub{}, refuse("namespace %s declares no singleton named %s (ConfigMap %s): name one of %s with --hub", ns, name, names.GuardParams, refs(hubs))
	case len(hubs) == 0:
		return Hub{}, refuse("namespace %s declares no singleton (ConfigMap %s is empty): render it with the singleton function", ns, names.GuardParams)
	default:
		return Hub{}, refuse("namespace %s declares %d singletons (%s): name one with --hub", ns, len(hubs), refs(hubs))
	}
}

func refs(hubs []Hub) string {
	var out []string
	for _, h := range hubs {
		out = append(out, h.Ref())
	}
	return strings.Join(out, ", ")
}

// dataClaim narrows a singleton's claims to the one that holds its data,
// the claim of the pod's volume of that name, where the pod mounts several
// (the copy's claim beside appData's: components/restore-point-copy).
func (c *Clients) dataClaim(ctx context.Context, h Hub, volume string) (Hub, error) {
	if h.HA() || len(h.Claims) < 2 {
		return h, nil
	}
	_, tmpl, _, _, _, err := c.workload(ctx, h)
	if err != nil {
		return Hub{}, err
	}
	for _, v := range tmpl.Spec.Volumes {
		if v.Name == volume && v.PersistentVolumeClaim != nil && slices.Contains(h.Claims, v.PersistentVolumeClaim.ClaimName) {
			h.Claims = []string{v.PersistentVolumeClaim.ClaimName}
			return h, nil
		}
	}
	return Hub{}, refuse("%s/%s mounts claims %s and none as volume %s: name the volume of its data with --volume", h.Namespace, h.Ref(), strings.Join(h.Claims, ", "), volume)
}
