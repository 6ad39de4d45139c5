package fleet

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/resid"
	"sigs.k8s.io/yaml"

	"github.com/hubkit/hubkit/internal/hub"
	"github.com/hubkit/hubkit/internal/names"
)

// Overlay is the overlay a site's render starts from.
func (s *Site) Overlay() string {
	if s.Spec.Mode == ModeHA {
		return "prod-ha"
	}
	return "prod"
}

// DefaultNamespace is where a site's Hub runs unless its file says
// otherwise: the namespace of the overlays the sites start from.
const DefaultNamespace = "hubkit"

// Namespace is where the site's Hub runs: spec.namespace, or
// DefaultNamespace.
func (s *Site) Namespace() string {
	if s.Spec.Namespace != "" {
		return s.Spec.Namespace
	}
	return DefaultNamespace
}

// OverlayFile is the name, in a site's kustomization folder, of its
// overlay's render (RenderOverlay), the kustomization's one resource.
const OverlayFile = "overlay.yaml"

// RenderOverlay builds overlays/<overlay> under root as `kustomize build
// --enable-alpha-plugins --enable-exec` does, the singleton function found
// on PATH: what every site of that overlay starts from.
func RenderOverlay(root, overlay string) ([]byte, error) {
	return build(filepath.Join(root, "overlays", overlay), true)
}

// Kustomization writes into dir the site's kustomization: its overlay's
// render (overlay, as RenderOverlay made it), the fleet's components and
// the site's values. dir must be inside root, the repository; what it held
// is replaced. `kustomize build dir` builds it as Render does.
func (s *Site) Kustomization(root, dir string, overlay []byte) error {
	up, err := filepath.Rel(dir, root)
	if err != nil {
		return fmt.Errorf("site %s: %w", s.Name, err)
	}
	from := func(p string) string { return filepath.ToSlash(filepath.Join(up, p)) }
	k := types.Kustomization{
		TypeMeta:  types.TypeMeta{APIVersion: types.KustomizationVersion, Kind: types.KustomizationKind},
		Namespace: s.Namespace(),
		Resources: []string{OverlayFile},
		Labels: []types.Label{{Pairs: map[string]string{
			names.SiteLabel: s.Name,
		}}},
	}
	files := map[string][]byte{OverlayFile: overlay}
	if len(s.Spec.SystemVariables) > 0 {
		b, err := s.SystemVariables()
		if err != nil {
			return fmt.Errorf("site %s: system variables: %w", s.Name, err)
		}
		files[hub.SystemVariablesFile] = b
		k.Components = append(k.Components, from("components/system-variables"))
		k.ConfigMapGenerator = append(k.ConfigMapGenerator, generated(names.SystemVariablesConfigMap, hub.SystemVariablesFile))
	}
	if s.Spec.Central != nil {
		b, err := s.RemoteConfig()
		if err != nil {
			return fmt.Errorf("site %s: remote config: %w", s.Name, err)
		}
		files[hub.RemoteConfigFile] = b
		k.Components = append(k.Components, from("components/remote-hub"))
		k.ConfigMapGenerator = append(k.ConfigMapGenerator, generated(names.RemoteConfigConfigMap, hub.RemoteConfigFile))
		k.Patches = append(k.Patches, types.Patch{
			Target: &types.Selector{ResId: resid.ResId{Gvk: resid.Gvk{Group: "apps"}, Name: names.Hub}},
			Patch: fmt.Sprintf("kind: Deployment\nmetadata:\n  name: %s\nspec:\n  template:\n    spec:\n      volumes:\n      - name: %s\n        secret:\n          secretName: %s\n",
				names.Hub, names.RemoteTokenVolume, s.Spec.Central.TokenSecret),
		})
	}
	k.Patches = append(k.Patches, s.storagePatches()...)
	k.Patches = append(k.Patches, types.Patch{
		Target: &types.Selector{ResId: id("networking.k8s.io", "Ingress", names.Hub)},
		Patch: fmt.Sprintf(`[{"op": "replace", "path": "/spec/rules/0/host", "value": %q}, {"op": "replace", "path": "/spec/tls/0/hosts/0", "value": %q}]`,
			s.Spec.Host, s.Spec.Host),
	})
	out, err := yaml.Marshal(k)
	if err != nil {
		return fmt.Errorf("site %s: %w", s.Name, err)
	}
	files["kustomization.yaml"] = append([]byte("# Made by hubkit's fleet renderer from "+filepath.ToSlash(filepath.Join(SitesDir, s.Name, SiteFile))+"; edit that file, not this one.\n"), out...)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("site %s: %w", s.Name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("site %s: %w", s.Name, err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return fmt.Errorf("site %s: %w", s.Name, err)
		}
	}
	return nil
}

func generated(name, file string) types.ConfigMapArgs {
	return types.ConfigMapArgs{GeneratorArgs: types.GeneratorArgs{Name: name, KvPairSources: types.KvPairSources{FileSources: []string{file}}}}
}

// storagePatches size the site's claim and put it on its class: the claim
// of a single Hub, each member's claim template in HA mode.
func (s *Site) storagePatches() []types.Patch {
	var ops []string
	spec := "/spec"
	target := id("", "PersistentVolumeClaim", names.AppDataClaim)
	if s.Spec.Mode == ModeHA {
		spec = "/spec/volumeClaimTemplates/0/spec"
		target = id("apps", "StatefulSet", names.Hub)
	}
	if q := s.Spec.Storage.Size; q != nil {
		ops = append(ops, fmt.Sprintf(`{"op": "replace", "path": "%s/resources/requests/storage", "value": %q}`, spec, q.String()))
	}
	if c := s.Spec.Storage.ClassName; c != "" {
		ops = append(ops, fmt.Sprintf(`{"op": "add", "path": "%s/storageClassName", "value": %q}`, spec, c))
	}
	if len(ops) == 0 {
		return nil
	}
	return []types.Patch{{Target: &types.Selector{ResId: target}, Patch: "[" + strings.Join(ops, ", ") + "]"}}
}

func id(group, kind, name string) resid.ResId {
	return resid.ResId{Gvk: resid.Gvk{Group: group, Kind: kind}, Name: name}
}

// Render writes the site's kustomization into dir (Kustomization) and
// builds it with the kustomize library: what `kustomize build dir` prints.
func (s *Site) Render(root, dir string, overlay []byte) ([]byte, error) {
	if err := s.Kustomization(root, dir, overlay); err != nil {
		return nil, err
	}
	out, err := build(dir, false)
	if err != nil {
		return nil, fmt.Errorf("site %s: %w", s.Name, err)
	}
	return out, nil
}

// build is `kustomize build dir` with the kustomize library, with exec
// functions enabled (`--enable-alpha-plugins --enable-exec`) when exec.
func build(dir string, exec bool) ([]byte, error) {
	opts := krusty.MakeDefaultOptions()
	// The library's default keeps input order; the CLI sorts (legacy order)
	// unless the kustomization says otherwise. Build what the CLI prints.
	opts.Reorder = krusty.ReorderOptionUnspecified
	if exec {
		opts.PluginConfig = types.EnabledPluginConfig(types.BploUseStaticallyLinked)
		opts.PluginConfig.HelmConfig.Enabled = false
		opts.PluginConfig.FnpLoadingOptions.EnableExec = true
	}
	m, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	out, err := m.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	return out, nil
}
