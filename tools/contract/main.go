// Command contract holds a rendered overlay to hubkit's contract
// (internal/contract) and the promises of its row in overlays/overlays.yaml,
// as `make render` does after every build:
//
//	go run ./tools/contract -overlay prod build/render/prod.yaml
//	go run ./tools/contract -json overlays/prod/secrets/deployment.json
//
// It prints one line per broken promise, led by the ID of the check that
// found it ("contract: overlays/prod: [service] Service[hbih].spec.type:
// Invalid value: "LoadBalancer": want ClusterIP"), and exits 1 when there is
// any. It holds what the function cannot know; `make render` runs the
// function's audit gate on the same file first (docs/testing.md). With
// -json it wants each file to hold one JSON object (the files an overlay's
// Secrets are made from, which never reach a render).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/hubkit/hubkit/internal/contract"
	"github.com/hubkit/hubkit/internal/overlays"
)

func main() {
	overlay := flag.String("overlay", "", "the overlay's name, a row of "+overlays.Table)
	jsonFiles := flag.Bool("json", false, "check that each file holds one JSON object instead")
	flag.Parse()
	run := render
	if *jsonFiles {
		run = checkJSON
	}
	if err := run(*overlay, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "contract:", err)
		os.Exit(1)
	}
}

func checkJSON(_ string, files []string) error {
	for _, f := range files {
		if err := contract.CheckJSONFile(f); err != nil {
			return err
		}
	}
	return nil
}

func render(overlay string, files []string) error {
	if len(files) != 1 {
		return fmt.Errorf("want one rendered file, got %d", len(files))
	}
	table, err := overlays.Load(".")
	if err != nil {
		return err
	}
	row, err := overlays.Find(table, overlay)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		return err
	}
	m, err := contract.Parse(b)
	if err != nil {
		return fmt.Errorf("%s: %w", files[0], err)
	}
	if errs := contract.Check(m, row.Expect); len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintf(os.Stderr, "contract: overlays/%s: [%s] %s\n", overlay, e.Origin, e.Error())
		}
		return fmt.Errorf("overlays/%s: %d broken promises", overlay, len(errs))
	}
	return nil
}
