// Command singleton is the singleton KRM function (see fnspec/README.md): it
// reads a ResourceList on stdin, as kustomize and kpt run it, and writes the
// ResourceList with its results to stdout. It exits 1 on any error result.
//
// The rules are package singleton; reading and writing the ResourceList,
// and the command around them, package resourcelist. This file wires them.
package main

import (
	"os"

	"github.com/hubkit/hubkit/plugin/resourcelist"
	"github.com/hubkit/hubkit/plugin/singleton"
)

func main() {
	in := resourcelist.NewInput(os.Stdin)
	p := singleton.Processor{Stderr: os.Stderr, Input: in}
	os.Exit(resourcelist.Main(p, "singleton", singleton.Usage(), os.Args[1:], in, os.Stdout, os.Stderr))
}
