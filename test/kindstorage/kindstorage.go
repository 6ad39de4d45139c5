// Package kindstorage is kind's default storage as kind installs it in a
// new cluster: rancher's local-path-provisioner, its helper image, its
// ConfigMap of scripts and the default StorageClass `standard`. kind keeps
// that manifest as a Go constant of its node-image builder, which it writes
// into every node image and applies at cluster creation; Manifest reads it
// from the kind module hubkit's go.mod pins, so the tests run kind's own
// objects and not a copy of them.
package kindstorage

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Module is kind's module; its version is go.mod's.
const Module = "sigs.k8s.io/kind"

// ModuleDir is the directory of kind's module at go.mod's version, in the
// Go module cache (go list -m, from the working directory's module).
func ModuleDir(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", Module).Output()
	if err != nil {
		return "", fmt.Errorf("go list -m %s: %w", Module, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// source is the file of kind's module that holds the manifest, and manifest
// the constant.
const (
	source   = "pkg/build/nodeimage/const_storage.go"
	manifest = "defaultStorageManifest"
)

// Manifest is kind's default storage manifest, read from the source of the
// kind module in dir: the constant's value, its images' constants
// substituted as the compiler does.
func Manifest(dir string) ([]byte, error) {
	path := filepath.Join(dir, source)
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("kind's storage manifest: %w", err)
	}
	consts := map[string]ast.Expr{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			v := s.(*ast.ValueSpec)
			for i, name := range v.Names {
				if i < len(v.Values) {
					consts[name.Name] = v.Values[i]
				}
			}
		}
	}
	e, ok := consts[manifest]
	if !ok {
		return nil, fmt.Errorf("%s has no constant %s: kind keeps its storage manifest elsewhere in this version", path, manifest)
	}
	s, err := eval(consts, e, 0)
	if err != nil {
		return nil, fmt.Errorf("%s, constant %s: %w", path, manifest, err)
	}
	return []byte(s), nil
}

// eval is the value of a constant string expression of string literals,
// other constants and +.
func eval(consts map[string]ast.Expr, e ast.Expr, depth int) (string, error) {
	if depth > 16 {
		return "", fmt.Errorf("constants nested too deep")
	}
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return "", fmt.Errorf("%s is not a string", e.Value)
		}
		return strconv.Unquote(e.Value)
	case *ast.Ident:
		v, ok := consts[e.Name]
		if !ok {
			return "", fmt.Errorf("no constant %s in the file", e.Name)
		}
		return eval(consts, v, depth+1)
	case *ast.ParenExpr:
		return eval(consts, e.X, depth+1)
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return "", fmt.Errorf("operator %s in a string constant", e.Op)
		}
		x, err := eval(consts, e.X, depth+1)
		if err != nil {
			return "", err
		}
		y, err := eval(consts, e.Y, depth+1)
		return x + y, err
	default:
		return "", fmt.Errorf("%T is not a constant string expression", e)
	}
}
