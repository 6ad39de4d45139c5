// Command singleton is the singleton KRM function (see fnspec/README.md): it
// reads a ResourceList on stdin, as kustomize and kpt run it, and writes the
// ResourceList with its results to stdout. It exits 1 on any error result.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/kustomize/kyaml/fn/framework"
	"sigs.k8s.io/kustomize/kyaml/fn/framework/command"

	"github.com/hubkit/hubkit/plugin/singleton"
)

func main() {
	// The processor prints each of its results to stderr, one line each;
	// main prints only what never reached it (unreadable input).
	in := singleton.NewInput(os.Stdin)
	p := singleton.Processor{Stderr: os.Stderr, Input: in}
	var err error
	if args := os.Args[1:]; len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		// Standalone: singleton config.yaml [file|-]...
		err = singleton.Standalone(p, args, in, os.Stdout)
	} else {
		// kyaml's command for its flags and help; singleton.Execute reads
		// and writes the ResourceList (kyaml's framework.Execute, the
		// command's own, for what it cannot read as kyaml does).
		cmd := command.Build(p, command.StandaloneDisabled, true)
		cmd.Use, cmd.Long = "singleton", singleton.Usage()
		cmd.RunE = func(cmd *cobra.Command, _ []string) error {
			return singleton.Execute(p, cmd.InOrStdin(), cmd.OutOrStdout())
		}
		cmd.SetIn(in)
		err = cmd.Execute()
	}
	if err != nil {
		var results framework.Results
		if !errors.As(err, &results) {
			fmt.Fprintln(os.Stderr, "singleton: error:", strings.Join(strings.Fields(err.Error()), " "))
		}
		os.Exit(1)
	}
}
