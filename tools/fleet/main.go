// Command fleet checks hubkit's fleet inventory (fleet/) and writes what it
// makes: each site's render under deploy/sites/, each site cluster's Flux
// objects under gitops/flux/sites/, the ApplicationSet's rollout steps
// (gitops/argocd/fleet/rollout-steps.yaml) and the labels of each site
// cluster's Argo CD cluster Secret (gitops/argocd/fleet/clusters/). A
// mistake in any site writes nothing.
//
//	fleet [-root .] [-work build/fleet] [-out DIR] [-workers N] [-site NAME]
//
// -out writes there instead of into the repository (make render); -site
// renders that site alone (the inventory is still checked whole).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/hubkit/hubkit/internal/fleet"
)

func main() {
	root := flag.String("root", ".", "the repository")
	work := flag.String("work", "build/fleet", "where each site's kustomization is written and built, under the repository")
	out := flag.String("out", "", "write here rather than into the repository")
	workers := flag.Int("workers", runtime.GOMAXPROCS(0), "render this many sites at once")
	site := flag.String("site", "", "render this site alone")
	flag.Parse()
	o := fleet.Options{Work: filepath.Join(*root, *work), Workers: *workers}
	if *site != "" {
		o.Only = []string{*site}
	}
	if err := run(*root, *out, o); err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		os.Exit(1)
	}
}

func run(root, out string, o fleet.Options) error {
	if _, err := exec.LookPath("singleton"); err != nil {
		return fmt.Errorf("the overlays name the singleton function bare, and it is not on PATH (make build puts it in bin/; make hydrate and make render put bin/ first): %w", err)
	}
	inv, files, err := fleet.Build(root, o)
	if err != nil {
		return err
	}
	if out == "" {
		out = root
	}
	changed, err := files.Write(out, len(o.Only) == 0)
	if err != nil {
		return err
	}
	fmt.Printf("fleet/: %d sites in %d waves -> %s (%d files changed)\n", len(inv.Sites), len(inv.Fleet.Spec.Waves), out, len(changed))
	return nil
}
