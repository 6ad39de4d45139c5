// Package fleet reads hubkit's fleet inventory, fleet/: fleet.yaml (the
// waves, the repository the sites are delivered from) and one file per
// site, fleet/sites/<site>/site.yaml, which says all that differs at that
// site. It checks them (a mistake names the site's file, the field and the
// fix) and renders each site (Render), the Argo CD ApplicationSet that
// delivers the sites in waves (ApplicationSet) and each site cluster's Flux
// objects (FluxSite).
package fleet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"

	"github.com/google/uuid"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/hubkit/hubkit/internal/hub"
)

// The inventory's place in a repository, and its kinds.
const (
	Dir        = "fleet"
	FleetFile  = "fleet/fleet.yaml"
	SitesDir   = "fleet/sites"
	SiteFile   = "site.yaml"
	APIVersion = "hubkit.dev/v1alpha1"
	FleetKind  = "Fleet"
	SiteKind   = "Site"
)

// Fleet is fleet/fleet.yaml: what every site shares.
type Fleet struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              FleetSpec `json:"spec"`
}

// FleetSpec lists the waves, in the order they roll out, and where the
// site clusters' controllers read the sites' renders from.
type FleetSpec struct {
	RepoURL  string `json:"repoURL"`
	Revision string `json:"revision"`
	Waves    []Wave `json:"waves"`
}

// Wave is one step of a rollout: no site of a later wave is touched before
// every site of this one is Healthy.
type Wave struct {
	Name string `json:"name"`
}

// Site is fleet/sites/<name>/site.yaml: one Hub (or HA pair) and all that
// differs at its site.
type Site struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              SiteSpec `json:"spec"`
}

// The modes of a site: the overlay its render starts from.
const (
	ModeSingle = "single" // overlays/prod
	ModeHA     = "ha"     // overlays/prod-ha
)

// SiteSpec is what differs per site.
type SiteSpec struct {
	// Cluster is the site cluster's name, as Argo CD knows it (its cluster
	// Secret's name field).
	Cluster string `json:"cluster"`
	// Namespace is the Hub's namespace on that cluster, DefaultNamespace
	// when empty: a cluster may run the Hubs of several sites (lines of
	// one plant), each in its own.
	Namespace string `json:"namespace,omitempty"`
	// Wave is one of fleet.yaml's waves.
	Wave string `json:"wave"`
	// Mode is ModeSingle or ModeHA.
	Mode    string  `json:"mode"`
	Storage Storage `json:"storage,omitempty"`
	// Host is where the site's Ingress serves its Hub.
	Host            string               `json:"host"`
	SystemVariables []hub.SystemVariable `json:"systemVariables,omitempty"`
	// Central, when set, makes the site's Hub a remote of a central Hub.
	Central *Central `json:"central,omitempty"`
}

// Storage is the site's claim for appData.
type Storage struct {
	Size      *resource.Quantity `json:"size,omitempty"`
	ClassName string             `json:"className,omitempty"`
}

// Central is the central Hub a site's Hub connects out to.
type Central struct {
	// URL is the central Hub's websocket: wss://<host>/websocket through its
	// Ingress (overlays/central), or ws(s)://<host>:45245/websocket.
	URL string `json:"url"`
	// TokenSecret names the Secret, in the site's namespace, whose key
	// token holds the Network Group's token. A new name rolls the Hub.
	TokenSecret   string `json:"tokenSecret"`
	CentralConfig bool   `json:"centralConfig,omitempty"`
	CentralData   bool   `json:"centralData,omitempty"`
}

// Inventory is a fleet and its sites, in the order of their names.
type Inventory struct {
	Fleet Fleet
	Sites []Site
}

// Load reads and checks the inventory under root. Its error lists every
// mistake, each naming the file and the field.
func Load(root string) (*Inventory, error) {
	var inv Inventory
	var errs []error
	if err := decode(filepath.Join(root, FleetFile), FleetKind, &inv.Fleet); err != nil {
		return nil, err
	}
	if list := inv.Fleet.validate(); len(list) > 0 {
		return nil, fmt.Errorf("%s: %w", FleetFile, list.ToAggregate())
	}
	files, err := filepath.Glob(filepath.Join(root, SitesDir, "*", SiteFile))
	if err != nil {
		return nil, fmt.Errorf("find the sites: %w", err)
	}
	for _, f := range files {
		rel := filepath.Join(SitesDir, filepath.Base(filepath.Dir(f)), SiteFile)
		var s Site
		if err := decode(f, SiteKind, &s); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", rel, errors.Unwrap(err)))
			continue
		}
		if list := s.validate(filepath.Base(filepath.Dir(f)), &inv.Fleet); len(list) > 0 {
			errs = append(errs, fmt.Errorf("%s: %w", rel, list.ToAggregate()))
			continue
		}
		inv.Sites = append(inv.Sites, s)
	}
	errs = append(errs, inv.checkAcross()...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &inv, nil
}

// decode reads one inventory file strictly: an unknown field is an error,
// and a token written inline is refused before anything else is said.
func decode(path, kind string, into any) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var loose map[string]any
	if err := yaml.Unmarshal(raw, &loose); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if spec, ok := loose["spec"].(map[string]any); ok {
		if central, ok := spec["central"].(map[string]any); ok {
			if _, inline := central["token"]; inline {
				return fmt.Errorf("%s: %w", path, field.Forbidden(field.NewPath("spec", "central", "token"),
					"a Network Group token is never written in Git: put it in a Secret in the site's namespace, key token, and name that Secret in spec.central.tokenSecret"))
			}
		}
	}
	doc, err := yaml.YAMLToJSONStrict(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	strict, err := sigsjson.UnmarshalStrict(doc, into, sigsjson.DisallowUnknownFields)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(strict) > 0 {
		return fmt.Errorf("%s: %w", path, fmt.Errorf("%w: remove or correct the field", errors.Join(strict...)))
	}
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(raw, &tm); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if tm.APIVersion != APIVersion || tm.Kind != kind {
		return fmt.Errorf("%s: %w", path, field.Invalid(field.NewPath("apiVersion"), tm.APIVersion+", "+tm.Kind,
			fmt.Sprintf("want apiVersion %s, kind %s", APIVersion, kind)))
	}
	return nil
}

func (f *Fleet) validate() field.ErrorList {
	var list field.ErrorList
	for _, msg := range validation.IsDNS1123Label(f.Name) {
		list = append(list, field.Invalid(field.NewPath("metadata", "name"), f.Name, "the fleet's name, a label on its site clusters' Argo CD cluster Secrets: "+msg))
	}
	spec := field.NewPath("spec")
	if _, err := url.ParseRequestURI(f.Spec.RepoURL); err != nil {
		list = append(list, field.Invalid(spec.Child("repoURL"), f.Spec.RepoURL, "the Git repository the site clusters read the renders from: an URL"))
	}
	if f.Spec.Revision == "" {
		list = append(list, field.Required(spec.Child("revision"), "the branch or tag the sites follow"))
	}
	if len(f.Spec.Waves) == 0 {
		list = append(list, field.Required(spec.Child("waves"), "at least one wave"))
	}
	var seen []string
	for i, w := range f.Spec.Waves {
		p := spec.Child("waves").Index(i).Child("name")
		for _, msg := range validation.IsDNS1123Label(w.Name) {
			list = append(list, field.Invalid(p, w.Name, msg))
		}
		if slices.Contains(seen, w.Name) {
			list = append(list, field.Duplicate(p, w.Name))
		}
		seen = append(seen, w.Name)
	}
	return list
}

// WaveNames are the fleet's waves, in order.
func (f *Fleet) WaveNames() []string {
	var names []string
	for _, w := range f.Spec.Waves {
		names = append(names, w.Name)
	}
	return names
}

func (s *Site) validate(dir string, f *Fleet) field.ErrorList {
	var list field.ErrorList
	name := field.NewPath("metadata", "name")
	if s.Name != dir {
		list = append(list, field.Invalid(name, s.Name, fmt.Sprintf("a site's name is its folder's (%s): rename one of them", dir)))
	}
	for _, msg := range validation.IsDNS1123Label(s.Name) {
		list = append(list, field.Invalid(name, s.Name, msg))
	}
	spec := field.NewPath("spec")
	for _, msg := range validation.IsDNS1123Subdomain(s.Spec.Cluster) {
		list = append(list, field.Invalid(spec.Child("cluster"), s.Spec.Cluster, "the site cluster's name, as Argo CD's cluster Secret names it: "+msg))
	}
	if ns := s.Spec.Namespace; ns != "" {
		for _, msg := range validation.IsDNS1123Label(ns) {
			list = append(list, field.Invalid(spec.Child("namespace"), ns, msg))
		}
	}
	if !slices.Contains(f.WaveNames(), s.Spec.Wave) {
		list = append(list, field.NotSupported(spec.Child("wave"), s.Spec.Wave, f.WaveNames()))
	}
	if s.Spec.Mode != ModeSingle && s.Spec.Mode != ModeHA {
		list = append(list, field.NotSupported(spec.Child("mode"), s.Spec.Mode, []string{ModeSingle, ModeHA}))
	}
	if q := s.Spec.Storage.Size; q != nil && q.Sign() <= 0 {
		list = append(list, field.Invalid(spec.Child("storage", "size"), q.String(), "a size above zero, such as 20Gi"))
	}
	if c := s.Spec.Storage.ClassName; c != "" {
		for _, msg := range validation.IsDNS1123Subdomain(c) {
			list = append(list, field.Invalid(spec.Child("storage", "className"), c, msg))
		}
	}
	for _, msg := range validation.IsDNS1123Subdomain(s.Spec.Host) {
		list = append(list, field.Invalid(spec.Child("host"), s.Spec.Host, "the host the site's Ingress serves: "+msg))
	}
	var vars []string
	for i, v := range s.Spec.SystemVariables {
		p := spec.Child("systemVariables").Index(i).Child("name")
		switch {
		case v.Name == "":
			list = append(list, field.Required(p, "the name the project reads as {{System.Variables.<name>}}"))
		case slices.Contains(vars, v.Name):
			list = append(list, field.Duplicate(p, v.Name))
		}
		vars = append(vars, v.Name)
	}
	if c := s.Spec.Central; c != nil {
		p := spec.Child("central")
		if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
			list = append(list, field.Invalid(p.Child("url"), c.URL, "the central Hub's websocket: wss://<host>/websocket through its Ingress, or ws(s)://<host>:45245/websocket"))
		}
		for _, msg := range validation.IsDNS1123Subdomain(c.TokenSecret) {
			list = append(list, field.Invalid(p.Child("tokenSecret"), c.TokenSecret, "the Secret that holds the Network Group's token (key token): "+msg))
		}
	}
	return list
}

// checkAcross finds what no one site shows: two sites in one namespace of
// one cluster, whose Hubs would be one Hub.
func (inv *Inventory) checkAcross() []error {
	var errs []error
	owner := map[string]string{}
	for _, s := range inv.Sites {
		where := s.Spec.Cluster + "/" + s.Namespace()
		if other, ok := owner[where]; ok {
			errs = append(errs, fmt.Errorf("%s: %w", filepath.Join(SitesDir, s.Name, SiteFile),
				field.Duplicate(field.NewPath("spec", "cluster"), fmt.Sprintf("%s, namespace %s (site %s's): one site per namespace of a cluster; give one of them spec.namespace", s.Spec.Cluster, s.Namespace(), other))))
			continue
		}
		owner[where] = s.Name
	}
	return errs
}

// clientIDSpace is the UUID namespace of hubkit's site client IDs.
const clientIDSpace = "4f1e8a52-7f1b-5c39-9c4e-6b0d2a7c1e93"

// ClientID is the site's Hub's clientId at its central Hub: a name-based
// (version 5) UUID of the site's name, so that it never changes, whatever
// happens to the pod or its volume, and two sites never share one.
func (s *Site) ClientID() string {
	return uuid.NewSHA1(uuid.MustParse(clientIDSpace), []byte(s.Name)).String()
}

// RemoteConfig is the site's intelligencehub-remoteconfig.json as Git holds
// it: the token's place is TokenPlaceholder, which components/remote-hub
// fills from the Secret when the pod starts.
func (s *Site) RemoteConfig() ([]byte, error) {
	c := s.Spec.Central
	b, err := json.MarshalIndent(hub.RemoteConfig{
		RemoteURL: c.URL,
		Token:     TokenPlaceholder,
		ClientID:  s.ClientID(),
		Name:      s.Name,
		Features:  hub.RemoteFeatures{CentralConfig: c.CentralConfig, CentralData: c.CentralData},
	}, "", "  ")
	return append(b, '\n'), err
}

// TokenPlaceholder stands for the token in the remote config Git holds.
const TokenPlaceholder = "@token@"

// SystemVariables is the site's intelligencehub-systemvariables.json.
func (s *Site) SystemVariables() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	err := enc.Encode(s.Spec.SystemVariables)
	return buf.Bytes(), err
}
