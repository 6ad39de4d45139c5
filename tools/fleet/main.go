// Command fleet checks hubkit's fleet inventory (fleet/) and writes what it
// makes: each site's render under deploy/sites/, each site cluster's Flux
// objects under gitops/flux/sites/ and the ApplicationSet's rollout steps
// (gitops/argocd/fleet/rollout-steps.yaml). A mistake in any site writes
// nothing.
//
//	fleet [-root .] [-work build/fleet] [-out DIR]
//
// -out writes there instead of into the repository (make render).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/hubkit/hubkit/internal/fleet"
)

func main() {
	root := flag.String("root", ".", "the repository")
	work := flag.String("work", "build/fleet", "where each site's kustomization is written and built, under the repository")
	out := flag.String("out", "", "write here rather than into the repository")
	flag.Parse()
	if err := run(*root, *work, *out); err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		os.Exit(1)
	}
}

func run(root, work, out string) error {
	if _, err := exec.LookPath("singleton"); err != nil {
		return fmt.Errorf("the overlays name the singleton function bare, and it is not on PATH (make build puts it in bin/; make hydrate and make render put bin/ first): %w", err)
	}
	inv, files, err := fleet.Build(root, filepath.Join(root, work))
	if err != nil {
		return err
	}
	if out == "" {
		out = root
	}
	changed, err := files.Write(out)
	if err != nil {
		return err
	}
	fmt.Printf("fleet/: %d sites in %d waves -> %s (%d files changed)\n", len(inv.Sites), len(inv.Fleet.Spec.Waves), out, len(changed))
	return nil
}
