package singleton

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	openapierrors "k8s.io/kube-openapi/pkg/validation/errors"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/kustomize/kyaml/fn/framework"
	"sigs.k8s.io/kustomize/kyaml/resid"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/hubkit/hubkit/fnspec"
	"github.com/hubkit/hubkit/internal/hub"
)

// The functionConfig's type.
const (
	ConfigAPIVersion = "fn.hubkit.dev/v1alpha1"
	ConfigKind       = "Singleton"
)

// Mode says whether the function fixes what it finds or only reports it.
type Mode string

const (
	// Enforce fixes what it can, reports each fix, and fails on the rest.
	Enforce Mode = "enforce"
	// Audit changes nothing and fails on every finding, fixable or not.
	Audit Mode = "audit"
)

// Config is the Singleton functionConfig (fnspec/singleton.yaml is its schema).
type Config struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Spec       Spec   `json:"spec"`
}

// Spec is what the function is told.
type Spec struct {
	Mode           Mode       `json:"mode,omitempty"`
	Singletons     Singletons `json:"singletons,omitempty"`
	ExternalClaims []string   `json:"externalClaims,omitempty"`
	Probes         Probes     `json:"probes,omitempty"`
	Guard          Guard      `json:"guard,omitempty"`
}

// Guard says what the function writes for hubkit's in-cluster guard
// (guard/: ValidatingAdmissionPolicies that refuse a second pod).
type Guard struct {
	// Params: in enforce mode, keep one ConfigMap hubkit-singletons in each
	// namespace with singletons or HA groups, naming them and their claims
	// (an HA group with its member count and claim templates); the guard's
	// bindings read it as their per-namespace parameters.
	Params bool `json:"params,omitempty"`
}

// Singletons says which workloads are singletons, beyond those labelled so.
type Singletons struct {
	Select        []Select `json:"select,omitempty"`
	ClaimMounters *bool    `json:"claimMounters,omitempty"`
}

// Select is one entry of spec.singletons.select: the workloads matching
// every field of its selector are singletons, probed as its Probes say,
// field by field over spec.probes (a web app on 8080 and its database on
// 3306 in one input each get their own).
type Select struct {
	framework.Selector
	Probes *Probes `json:"probes,omitempty"`
}

// Probes says how missing probes are made.
type Probes struct {
	Container string              `json:"container,omitempty"`
	Port      *intstr.IntOrString `json:"port,omitempty"`
	// Path: HTTP GET this path; unset or "" is a TCP connect ("" in a select
	// entry turns spec.probes' path off for its workloads).
	Path      *string `json:"path,omitempty"`
	Startup   Probe   `json:"startup,omitempty"`
	Readiness Probe   `json:"readiness,omitempty"`
	Liveness  Probe   `json:"liveness,omitempty"`
}

// Probe is how one kind of injected probe differs from the others.
type Probe struct {
	// Path: HTTP GET this path for this probe only (default Probes.Path;
	// "" is a TCP connect).
	Path                *string `json:"path,omitempty"`
	InitialDelaySeconds *int64  `json:"initialDelaySeconds,omitempty"`
	PeriodSeconds       *int64  `json:"periodSeconds,omitempty"`
	TimeoutSeconds      *int64  `json:"timeoutSeconds,omitempty"`
	FailureThreshold    *int64  `json:"failureThreshold,omitempty"`
}

// Schema implements framework.ValidationSchemaProvider from fnspec/singleton.yaml.
func (c *Config) Schema() (*spec.Schema, error) {
	return definitionSchema()
}

// definitionSchema is fnspec/singleton.yaml's schema, built on first use and
// never changed: building it took 1.8 ms of every config load, which made
// the config fuzzer crawl.
var definitionSchema = sync.OnceValues(func() (*spec.Schema, error) {
	s, err := framework.SchemaFromFunctionDefinition(resid.NewGvk("fn.hubkit.dev", "v1alpha1", ConfigKind), fnspec.Definition())
	if err != nil {
		return nil, fmt.Errorf("fnspec/singleton.yaml: %w", err)
	}
	return s, nil
})

// Default implements framework.Defaulter.
func (c *Config) Default() error {
	c.Spec.defaults()
	return nil
}

// Validate implements framework.Validator: what the schema cannot say.
func (c *Config) Validate() error {
	return asError(c.Spec.validate(field.NewPath("spec")))
}

func (s *Spec) defaults() {
	if s.Mode == "" {
		s.Mode = Enforce
	}
	if s.Singletons.ClaimMounters == nil {
		s.Singletons.ClaimMounters = ptr.To(true)
	}
	if s.Probes.Port == nil {
		s.Probes.Port = ptr.To(intstr.FromString(hub.HTTPPortName))
	}
	// A JVM that opens a large appData can take minutes on its first start:
	// the startup probe allows 5 minutes before liveness takes over.
	s.Probes.Startup.defaults(Probe{PeriodSeconds: ptr.To[int64](10), TimeoutSeconds: ptr.To[int64](5), FailureThreshold: ptr.To[int64](30)})
	s.Probes.Readiness.defaults(Probe{PeriodSeconds: ptr.To[int64](10), TimeoutSeconds: ptr.To[int64](5), FailureThreshold: ptr.To[int64](3)})
	s.Probes.Liveness.defaults(Probe{PeriodSeconds: ptr.To[int64](20), TimeoutSeconds: ptr.To[int64](5), FailureThreshold: ptr.To[int64](3)})
}

// over returns base with every field p sets replaced: a workload's own probe
// settings over spec.probes.
func (p Probes) over(base Probes) Probes {
	out := base
	if p.Container != "" {
		out.Container = p.Container
	}
	if p.Port != nil {
		out.Port = p.Port
	}
	if p.Path != nil {
		out.Path = p.Path
	}
	out.Startup, out.Readiness, out.Liveness = p.Startup.over(base.Startup), p.Readiness.over(base.Readiness), p.Liveness.over(base.Liveness)
	return out
}

func (t Probe) over(base Probe) Probe {
	t.defaults(base)
	return t
}

// defaults fills each field t leaves unset from d.
func (t *Probe) defaults(d Probe) {
	if t.Path == nil {
		t.Path = d.Path
	}
	for _, f := range []struct{ v, d **int64 }{
		{&t.InitialDelaySeconds, &d.InitialDelaySeconds}, {&t.PeriodSeconds, &d.PeriodSeconds},
		{&t.TimeoutSeconds, &d.TimeoutSeconds}, {&t.FailureThreshold, &d.FailureThreshold},
	} {
		if *f.v == nil {
			*f.v = *f.d
		}
	}
}

// validate checks what the schema cannot say, each problem at its field.
func (s *Spec) validate(root *field.Path) field.ErrorList {
	errs := s.Probes.validate(root.Child("probes"))
	for i, sel := range s.Singletons.Select {
		if sel.Probes != nil {
			errs = append(errs, sel.Probes.validate(root.Child("singletons", "select").Index(i).Child("probes"))...)
		}
	}
	return append(errs, validateClaims(s.ExternalClaims, root.Child("externalClaims"))...)
}

// validate checks the probe settings at path that the schema cannot.
func (p Probes) validate(path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if p.Port != nil {
		errs = append(errs, validatePort(*p.Port, path.Child("port"), "use a port name or a number from 1 to 65535")...)
	}
	if p.Path != nil && *p.Path != "" && !strings.HasPrefix(*p.Path, "/") {
		errs = append(errs, field.Invalid(path.Child("path"), *p.Path, "an HTTP path starts with /"))
	}
	return errs
}

// validateClaims wants each external claim as name or namespace/name.
func validateClaims(claims []string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, c := range claims {
		if c == "" || strings.Count(c, "/") > 1 {
			errs = append(errs, field.Invalid(path.Index(i), c, "use name or namespace/name"))
		}
	}
	return errs
}

// asError turns errs into the schema library's composite error, which the
// framework merges with the schema's own findings, one error each.
func asError(errs field.ErrorList) error {
	if len(errs) == 0 {
		return nil
	}
	c := openapierrors.CompositeValidationError()
	for _, e := range errs {
		c.Errors = append(c.Errors, e)
	}
	return c
}

// configMapKeys are the data keys of a ConfigMap functionConfig, as given by
// `kpt fn eval --exec singleton -- key=value`.
const configMapKeys = "mode, claimMounters, externalClaims, container, port, path, guardParams"

// setFromConfigMap sets the Spec field that ConfigMap key stands for; it
// reports false for a key it does not know.
func setFromConfigMap(s *Spec, key, value string) (bool, error) {
	switch key {
	case "mode":
		s.Mode = Mode(value)
	case "claimMounters":
		b, err := strconv.ParseBool(value)
		if err != nil {
			return true, fmt.Errorf("data.claimMounters is %q: use true or false", value)
		}
		s.Singletons.ClaimMounters = &b
	case "externalClaims":
		for _, c := range strings.Split(value, ",") {
			s.ExternalClaims = append(s.ExternalClaims, strings.TrimSpace(c))
		}
	case "container":
		s.Probes.Container = value
	case "port":
		s.Probes.Port = ptr.To(intstr.Parse(value))
	case "path":
		s.Probes.Path = &value
	case "guardParams":
		b, err := strconv.ParseBool(value)
		if err != nil {
			return true, fmt.Errorf("data.guardParams is %q: use true or false", value)
		}
		s.Guard.Params = b
	default:
		return false, nil
	}
	return true, nil
}

// configMapConfig is a ConfigMap functionConfig: the flat form of Spec.
type configMapConfig struct {
	Data map[string]string `json:"data,omitempty"`
	spec Spec
}

// Default turns the flat data into a Spec and defaults it.
func (c *configMapConfig) Default() error {
	keys := make([]string, 0, len(c.Data))
	for k := range c.Data {
		keys = append(keys, k)
	}
	slices.Sort(keys) // report the first bad key the same way every time
	for _, k := range keys {
		known, err := setFromConfigMap(&c.spec, k, c.Data[k])
		if err != nil {
			return fmt.Errorf("ConfigMap functionConfig: %w", err)
		}
		if !known {
			return fmt.Errorf("ConfigMap functionConfig: unknown key data.%s: the keys are %s", k, configMapKeys)
		}
	}
	c.spec.defaults()
	return nil
}

// Validate checks the ConfigMap's values, which have no schema.
func (c *configMapConfig) Validate() error {
	data := field.NewPath("data")
	var errs field.ErrorList
	if m := c.spec.Mode; m != Enforce && m != Audit {
		errs = append(errs, field.NotSupported(data.Child("mode"), m, []Mode{Enforce, Audit}))
	}
	// The keys are flat: data.port, data.path, data.externalClaims.
	errs = append(errs, c.spec.Probes.validate(data)...)
	return asError(append(errs, validateClaims(c.spec.ExternalClaims, data.Child("externalClaims"))...))
}

// LoadSpec reads, defaults and validates the functionConfig through the
// framework: a Singleton against fnspec's schema, or a ConfigMap; no config at
// all means the defaults.
func LoadSpec(fc *yaml.RNode) (Spec, error) {
	if fc == nil || fc.IsNilOrEmpty() {
		var s Spec
		s.defaults()
		return s, nil
	}
	if fc.YNode().Kind != yaml.MappingNode {
		return Spec{}, fmt.Errorf("functionConfig is a %s, not an object: use apiVersion %s, kind %s (or a v1 ConfigMap)", fc.YNode().ShortTag(), ConfigAPIVersion, ConfigKind)
	}
	// The framework validates the config as JSON and panics deep in the
	// schema validator when it cannot be converted (a key given twice, say).
	if _, err := fc.MarshalJSON(); err != nil {
		return Spec{}, fmt.Errorf("functionConfig is not a valid object: %s", strings.Join(strings.Fields(err.Error()), " "))
	}
	switch apiVersion, kind := fc.GetApiVersion(), fc.GetKind(); {
	case apiVersion == "v1" && kind == "ConfigMap":
		var c configMapConfig
		if err := framework.LoadFunctionConfig(fc, &c); err != nil {
			return Spec{}, err
		}
		return c.spec, nil
	case kind == ConfigKind:
		var c Config
		if err := framework.LoadFunctionConfig(fc, &c); err != nil {
			return Spec{}, err
		}
		return c.Spec, nil
	default:
		return Spec{}, fmt.Errorf("functionConfig is %s %s: use apiVersion %s, kind %s (or a v1 ConfigMap)", apiVersion, kind, ConfigAPIVersion, ConfigKind)
	}
}
