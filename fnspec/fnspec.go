// Package fnspec carries the singleton function's config schema, the same file
// that users read and that the function validates its functionConfig against.
package fnspec

import (
	_ "embed"
)

//go:embed singleton.yaml
var definition string

// Definition returns the KRMFunctionDefinition of the singleton function.
func Definition() string { return definition }
