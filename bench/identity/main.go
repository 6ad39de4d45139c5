// Command identity is the floor every kyaml function pays: command.Build
// around a processor that does nothing, so all it costs is the framework
// reading, annotating and writing the ResourceList.
package main

import (
	"os"

	"sigs.k8s.io/kustomize/kyaml/fn/framework"
	"sigs.k8s.io/kustomize/kyaml/fn/framework/command"
)

func main() {
	nothing := framework.ResourceListProcessorFunc(func(*framework.ResourceList) error { return nil })
	if err := command.Build(nothing, command.StandaloneEnabled, false).Execute(); err != nil {
		os.Exit(1)
	}
}
