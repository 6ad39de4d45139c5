package fleet

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Output is what the inventory makes: each file's path under the
// repository and its content.
type Output map[string][]byte

// Build loads the inventory under root and makes every site's render,
// every site's Flux objects and the ApplicationSet's rollout steps. Each
// overlay the sites start from is built once, the singleton function
// applied; each site is that render and its own layer (its kustomization
// built in work/<site>/), held to the function's audit gate. It writes
// nothing under root: a mistake in any site fails it whole.
func Build(root, work string) (*Inventory, Output, error) {
	inv, err := Load(root)
	if err != nil {
		return nil, nil, err
	}
	audit, err := newGate(root)
	if err != nil {
		return nil, nil, err
	}
	overlays := map[string][]byte{}
	out := Output{}
	for _, s := range inv.Sites {
		overlay, ok := overlays[s.Overlay()]
		if !ok {
			if overlay, err = RenderOverlay(root, s.Overlay()); err != nil {
				return nil, nil, err
			}
			overlays[s.Overlay()] = overlay
		}
		render, err := s.Render(root, filepath.Join(work, s.Name), overlay)
		if err != nil {
			return nil, nil, err
		}
		if err := audit.check(render); err != nil {
			return nil, nil, fmt.Errorf("site %s: %w", s.Name, err)
		}
		out[filepath.Join(s.RenderDir(), "hub.yaml")] = render
		out[filepath.Join(FluxDir, s.Name+".yaml")] = s.Flux(&inv.Fleet)
	}
	steps, err := inv.Fleet.RolloutSteps()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", RolloutStepsFile, err)
	}
	out[RolloutStepsFile] = steps
	return inv, out, nil
}

// Write puts out under root, and removes the renders and Flux files of
// sites no longer in the inventory. It returns the paths it changed.
func (out Output) Write(root string) ([]string, error) {
	var changed []string
	for _, dir := range []string{"deploy/sites", FluxDir} {
		entries, err := os.ReadDir(filepath.Join(root, dir))
		if err != nil && !os.IsNotExist(err) {
			return changed, err
		}
		for _, e := range entries {
			p := filepath.Join(dir, e.Name())
			if !slices.ContainsFunc(out.paths(), func(o string) bool { return o == p || strings.HasPrefix(o, p+"/") }) {
				if err := os.RemoveAll(filepath.Join(root, p)); err != nil {
					return changed, err
				}
				changed = append(changed, p)
			}
		}
	}
	for _, p := range out.paths() {
		full := filepath.Join(root, p)
		if old, err := os.ReadFile(full); err == nil && bytes.Equal(old, out[p]) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return changed, err
		}
		tmp := full + ".new"
		if err := os.WriteFile(tmp, out[p], 0o644); err != nil {
			return changed, err
		}
		if err := os.Rename(tmp, full); err != nil {
			return changed, err
		}
		changed = append(changed, p)
	}
	return changed, nil
}

func (out Output) paths() []string {
	var ps []string
	for p := range out {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}
