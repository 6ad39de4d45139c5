// Package overlays reads the table of hubkit's overlays, overlays/overlays.yaml:
// each overlay's name and what its render promises. It is the one list of
// overlays in Go; the Makefile finds the same folders by glob, and Load fails
// when the two disagree.
package overlays

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"sigs.k8s.io/yaml"

	"github.com/hubkit/hubkit/internal/contract"
)

// Table is the table's path under a repository root.
const Table = "overlays/overlays.yaml"

// Overlay is one row: an overlay and what its render promises.
type Overlay struct {
	Name string `json:"name"`
	contract.Expect
}

// Dir is the overlay's folder under root.
func (o Overlay) Dir(root string) string {
	return filepath.Join(root, "overlays", o.Name)
}

// Load reads the table under root and checks it against the folders that hold
// a kustomization.yaml, as the Makefile finds them: every folder needs a row
// and every row a folder.
func Load(root string) ([]Overlay, error) {
	raw, err := os.ReadFile(filepath.Join(root, Table))
	if err != nil {
		return nil, fmt.Errorf("the overlay table: %w", err)
	}
	var table []Overlay
	if err := yaml.UnmarshalStrict(raw, &table); err != nil {
		return nil, fmt.Errorf("%s: %w", Table, err)
	}
	kustomizations, err := filepath.Glob(filepath.Join(root, "overlays", "*", "kustomization.yaml"))
	if err != nil {
		return nil, fmt.Errorf("find the overlays: %w", err)
	}
	var folders []string
	for _, k := range kustomizations {
		folders = append(folders, filepath.Base(filepath.Dir(k)))
	}
	var names []string
	for i, o := range table {
		switch {
		case o.Name == "":
			return nil, fmt.Errorf("%s: row %d has no name", Table, i)
		case slices.Contains(names, o.Name):
			return nil, fmt.Errorf("%s: overlay %s has two rows; keep one", Table, o.Name)
		case !slices.Contains(folders, o.Name):
			return nil, fmt.Errorf("%s: overlay %s has a row but overlays/%s/kustomization.yaml does not exist; add the folder or remove the row", Table, o.Name, o.Name)
		}
		names = append(names, o.Name)
	}
	for _, f := range folders {
		if !slices.Contains(names, f) {
			return nil, fmt.Errorf("overlays/%s has no row in %s; add one saying what its render promises", f, Table)
		}
	}
	return table, nil
}

// Names lists the overlays' names, in table order.
func Names(table []Overlay) []string {
	out := make([]string, len(table))
	for i, o := range table {
		out[i] = o.Name
	}
	return out
}

// Find returns the row of the named overlay.
func Find(table []Overlay, name string) (Overlay, error) {
	for _, o := range table {
		if o.Name == name {
			return o, nil
		}
	}
	return Overlay{}, fmt.Errorf("no overlay %s in %s", name, Table)
}
