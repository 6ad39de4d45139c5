// Command singleton is the singleton KRM function (see fnspec/README.md): it
// reads a ResourceList on stdin, as kustomize and kpt run it, and writes the
// ResourceList with its results to stdout. It exits 1 on any error result.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/fn/framework"
	"sigs.k8s.io/kustomize/kyaml/fn/framework/command"

	"github.com/hubkit/hubkit/plugin/singleton"
)

func main() {
	// The processor prints each of its results to stderr, one line each;
	// the command prints only what never reached it (unreadable input).
	cmd := command.Build(singleton.Processor{Stderr: os.Stderr}, command.StandaloneEnabled, true)
	cmd.SetIn(singleton.NonEmpty(os.Stdin))
	if err := cmd.Execute(); err != nil {
		var results framework.Results
		if !errors.As(err, &results) {
			fmt.Fprintln(os.Stderr, "singleton: error:", strings.Join(strings.Fields(err.Error()), " "))
		}
		os.Exit(1)
	}
}
