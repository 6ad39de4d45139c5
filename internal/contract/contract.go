package contract

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Expect is what differs between overlays; everything else is the same
// promise. overlays/overlays.yaml holds one per overlay (internal/overlays).
type Expect struct {
	Namespace   string                            `json:"namespace"`             // every namespaced object lives here
	Storage     string                            `json:"storage"`               // the appData claim's request, e.g. "1Gi"
	AccessMode  corev1.PersistentVolumeAccessMode `json:"accessMode"`            // the claim's one access mode
	ServiceType corev1.ServiceType                `json:"serviceType"`           // ClusterIP or NodePort
	NodePort    int32                             `json:"nodePort,omitempty"`    // the http port's nodePort; 0 for none
	Ingress     bool                              `json:"ingress,omitempty"`     // an Ingress with TLS routes to the Service
	TLSSecret   string                            `json:"tlsSecret,omitempty"`   // the Ingress's TLS secret, when it has one
	ImageDigest bool                              `json:"imageDigest,omitempty"` // the image is pinned by digest
	// The Hub's own configuration (check_settings.go and the others).
	Settings         Stance `json:"settings,omitempty"`         // how the overlay's settings file reaches appData
	CertificateStore bool   `json:"certificateStore,omitempty"` // the certificate store from a Secret
	DeploymentFile   bool   `json:"deploymentFile,omitempty"`   // the project from Git: HIGHBYTE_DEPLOYMENT_FILE from a Secret
	GitBackup        bool   `json:"gitBackup,omitempty"`        // scheduled Git Backup, its password from a Secret
	// High availability (check_ha_*.go): the Hub as an HA group of this
	// many members, a StatefulSet; 0 for the single Hub, a Deployment.
	Members int32 `json:"members,omitempty"`
	// Workload is the Hub's kind: Deployment (the default) or StatefulSet,
	// which members > 0 requires.
	Workload string `json:"workload,omitempty"`
}

// The contract holds what the singleton function cannot know: what the
// overlay's row in overlays/overlays.yaml promises (namespace, storage,
// exposure, digest, configuration, member count) and how hubkit's
// components wire the Hub. What the function knows (one replica, Recreate,
// probes, resolvable claims, ports that exist, no autoscaler, an HA group's
// count, rollout, spread, liveness endpoint and own claims) its rules hold,
// and `make render` runs them on every render as the audit gate
// (`singleton functions/singleton/audit.yaml`) before this contract: no
// check here repeats a rule, and no check shares a rule's ID
// (TestContractAndFunctionIDsAreApart).
//
// The checks are laid out as k8s.io/pod-security-admission/policy lays out
// its own: one check_<id>.go per check, opening with what it forbids, which
// fields it reads and which values it allows; an init that adds it to the
// registry; the check a pure function of the render and its row; its test
// beside it (check_<id>_test.go).

// check is one promise of the contract.
type check struct {
	// id is stable: tools/contract prints each finding as [id], as the
	// function prints its rules' results, and users and tests grep for it.
	id string
	// promise is what it holds, in one sentence (docs/testing.md lists them).
	promise string
	// check returns every way m breaks the promise for an overlay expected
	// to look like want, each field.Error rooted at the object
	// (Deployment[hbih].spec...).
	check func(m *Manifest, want Expect) field.ErrorList
}

// registry holds every check, added by its file's init.
var registry []check

func addCheck(c check) {
	if c.id == "" || c.promise == "" || c.check == nil || slices.ContainsFunc(registry, func(r check) bool { return r.id == c.id }) {
		panic(fmt.Sprintf("contract: check %q is incomplete or added twice", c.id))
	}
	registry = append(registry, c)
}

// checks is the registry in ID order, the order of Check's findings.
func checks() []check {
	return slices.SortedFunc(slices.Values(registry), func(a, b check) int { return strings.Compare(a.id, b.id) })
}

// Check returns every way m breaks the contract for an overlay expected to
// look like want: one field.Error per broken promise, its Field rooted at the
// object (Deployment[hbih].spec.replicas) and its Origin the ID of the check
// that found it (CheckIDs). An empty list means the overlay keeps the contract.
func Check(m *Manifest, want Expect) field.ErrorList {
	var out field.ErrorList
	for _, c := range checks() {
		for _, err := range c.check(m, want) {
			out = append(out, err.WithOrigin(c.id))
		}
	}
	return out
}

// CheckIDs lists the ID of every check, in ID order.
func CheckIDs() []string {
	var ids []string
	for _, c := range checks() {
		ids = append(ids, c.id)
	}
	return ids
}

// Promises maps each check's ID to the promise it holds, in one sentence.
func Promises() map[string]string {
	out := map[string]string{}
	for _, c := range registry {
		out[c.id] = c.promise
	}
	return out
}

// object is the path of a rendered object, the root of its fields' paths.
func object(kind, name string) *field.Path { return field.NewPath(kind).Key(name) }

// named is the path of the element called name of the list at path, as the
// singleton function's results name it (containers[name=hub]), or its index
// when it has no name.
func named(path *field.Path, i int, name string) *field.Path {
	if name == "" {
		return path.Index(i)
	}
	return path.Key("name=" + name)
}

// exactlyOne is the finding for n items at path where one is wanted.
func exactlyOne(path *field.Path, n int, why string) *field.Error {
	if n == 0 {
		return field.Required(path, "want exactly one: "+why)
	}
	return field.TooMany(path, n, 1)
}

// wantBool is the finding for a boolean at path that is not value.
func wantBool(path *field.Path, got *bool, value bool, why string) *field.Error {
	if got == nil {
		return field.Required(path, fmt.Sprintf("want %t: %s", value, why))
	}
	return field.Invalid(path, *got, fmt.Sprintf("want %t: %s", value, why))
}
