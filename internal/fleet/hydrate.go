package fleet

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// Output is what the inventory makes: each file's path under the
// repository and its content.
type Output map[string][]byte

// Options say how Build works.
type Options struct {
	// Work holds each site's kustomization folder, work/<site>/.
	Work string
	// Workers render that many sites at once; 0 or 1: one at a time.
	Workers int
	// Only, when set, renders these sites alone (the inventory is still
	// loaded and checked whole).
	Only []string
}

// Build loads the inventory under root and makes every site's render,
// every site's Flux objects, the ApplicationSet's rollout steps and each
// site cluster's Argo CD cluster Secret labels. Each
// overlay the sites start from is built once, the singleton function
// applied; each site is that render and its own layer (its kustomization
// built in work/<site>/), held to the function's audit gate. It writes
// nothing under root: a mistake in any site fails it whole.
func Build(root string, o Options) (*Inventory, Output, error) {
	inv, err := Load(root)
	if err != nil {
		return nil, nil, err
	}
	audit, err := newGate(root)
	if err != nil {
		return nil, nil, err
	}
	var sites []Site
	for _, s := range inv.Sites {
		if len(o.Only) == 0 || slices.Contains(o.Only, s.Name) {
			sites = append(sites, s)
		}
	}
	for _, name := range o.Only {
		if !slices.ContainsFunc(inv.Sites, func(s Site) bool { return s.Name == name }) {
			return nil, nil, fmt.Errorf("no site %s: %s has no %s", name, SitesDir, filepath.Join(name, SiteFile))
		}
	}
	overlays := map[string][]byte{}
	for _, s := range sites {
		if _, ok := overlays[s.Overlay()]; !ok {
			if overlays[s.Overlay()], err = RenderOverlay(root, s.Overlay()); err != nil {
				return nil, nil, err
			}
		}
	}
	renders := make([][]byte, len(sites))
	errs := make([]error, len(sites))
	next := make(chan int)
	var workers sync.WaitGroup
	for range max(o.Workers, 1) {
		workers.Go(func() {
			for i := range next {
				s := sites[i]
				renders[i], errs[i] = s.Render(root, filepath.Join(o.Work, s.Name), overlays[s.Overlay()])
				if errs[i] == nil {
					if err := audit.check(renders[i]); err != nil {
						errs[i] = fmt.Errorf("site %s: %w", s.Name, err)
					}
				}
			}
		})
	}
	for i := range sites {
		next <- i
	}
	close(next)
	workers.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	out := Output{}
	for i, s := range sites {
		out[filepath.Join(s.RenderDir(), "hub.yaml")] = renders[i]
		out[filepath.Join(FluxDir, s.Name+".yaml")] = s.Flux(&inv.Fleet)
	}
	steps, err := inv.Fleet.RolloutSteps()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", RolloutStepsFile, err)
	}
	out[RolloutStepsFile] = steps
	clusters, err := inv.ClusterFiles()
	if err != nil {
		return nil, nil, err
	}
	maps.Copy(out, clusters)
	return inv, out, nil
}

// Write puts out under root and, when prune, removes the renders, Flux
// files and cluster files out has none of (no longer in the inventory). It returns
// the paths it changed.
func (out Output) Write(root string, prune bool) ([]string, error) {
	var changed []string
	for _, dir := range []string{"deploy/sites", FluxDir, ClustersDir} {
		if !prune {
			break
		}
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
