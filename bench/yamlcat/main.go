// Command yamlcat is the floor of YAML itself: it decodes every document on
// stdin into yaml.v3 nodes and encodes them back, and does nothing else.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

func main() {
	dec := yaml.NewDecoder(os.Stdin)
	enc := yaml.NewEncoder(os.Stdout)
	enc.SetIndent(2)
	for {
		var n yaml.Node
		if err := dec.Decode(&n); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			fmt.Fprintln(os.Stderr, "yamlcat:", err)
			os.Exit(1)
		}
		if err := enc.Encode(&n); err != nil {
			fmt.Fprintln(os.Stderr, "yamlcat:", err)
			os.Exit(1)
		}
	}
	if err := enc.Close(); err != nil {
		os.Exit(1)
	}
}
