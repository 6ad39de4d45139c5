package resourcelist

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/kustomize/kyaml/fn/framework"
	"sigs.k8s.io/kustomize/kyaml/fn/framework/command"
)

// Main runs f as the command name and returns its exit code: 1 on any
// error. With a first argument that is not a flag it is
// `name config.yaml [file|-]...` (Standalone); otherwise kyaml's command,
// for its flags and help (usage), on which Execute reads and writes the
// ResourceList from in to stdout. f prints its own results; Main prints to
// stderr, on one line, only an error that never reached f (unreadable input).
func Main(f Function, name, usage string, args []string, in *Input, stdout, stderr io.Writer) int {
	var err error
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		err = Standalone(f, args, in, stdout)
	} else {
		cmd := command.Build(f, command.StandaloneDisabled, true)
		cmd.Use, cmd.Long = name, usage
		cmd.RunE = func(cmd *cobra.Command, _ []string) error {
			return Execute(f, cmd.InOrStdin(), cmd.OutOrStdout())
		}
		cmd.SetIn(in)
		cmd.SetOut(stdout)
		cmd.SetErr(stderr)
		cmd.SetArgs(args)
		err = cmd.Execute()
	}
	if err == nil {
		return 0
	}
	var results framework.Results
	if !errors.As(err, &results) {
		fmt.Fprintln(stderr, name+": error:", strings.Join(strings.Fields(err.Error()), " "))
	}
	return 1
}
