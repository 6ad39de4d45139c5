package fleet

import (
	"fmt"
	"path"
)

// FluxDir holds each site cluster's Flux objects, one file per site.
const FluxDir = "gitops/flux/sites"

// RenderDir is where a site's render is committed, under the repository.
func (s *Site) RenderDir() string {
	return path.Join("deploy/sites", s.Name)
}

// Flux is what a site cluster's Flux applies to deliver its site: a
// GitRepository whose artifact holds the site's render alone (ignore: every
// path but deploy/sites/<site>/), and the Kustomization that applies it.
func (s *Site) Flux(f *Fleet) []byte {
	return fmt.Appendf(nil, `# Made by hubkit's fleet renderer from %[1]s: site %[2]s's cluster
# applies this once (flux-system), and then follows its render alone.
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: hubkit-site
  namespace: flux-system
spec:
  interval: 5m
  url: %[3]s
  ref:
    branch: %[4]s
  ignore: |
    /*
    !/%[5]s/
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: hubkit-site
  namespace: flux-system
spec:
  interval: 10m
  sourceRef:
    kind: GitRepository
    name: hubkit-site
  path: ./%[5]s
  # Prune what leaves the render (the Hub's claim says never to be pruned),
  # and report ready only once the Hub is.
  prune: true
  wait: true
  timeout: 5m
`, path.Join(SitesDir, s.Name, SiteFile), s.Name, f.Spec.RepoURL, f.Spec.Revision, s.RenderDir())
}
