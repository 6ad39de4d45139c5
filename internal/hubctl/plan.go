package hubctl

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// step is one step of a runbook: what it does, the kubectl lines a person
// types for it (printed by --dry-run: the README's runbooks are these),
// and doing it.
type step struct {
	what    string
	kubectl []string
	do      func(ctx context.Context) error
}

// plan is a runbook as the plugin runs it: its steps in order.
type plan []step

// run does each step, a line each with the time since the command began
// once it is done; with dryRun it prints each step's kubectl lines
// instead and changes nothing.
func (p plan) run(ctx context.Context, out io.Writer, dryRun bool, began time.Time) error {
	if dryRun {
		for _, s := range p {
			if len(s.kubectl) == 0 {
				fmt.Fprintf(out, "# %s (kubectl hubkit's own: no kubectl line)\n", s.what)
				continue
			}
			fmt.Fprintf(out, "# %s\n%s\n", s.what, strings.Join(s.kubectl, "\n"))
		}
		return nil
	}
	for _, s := range p {
		if err := s.do(ctx); err != nil {
			fmt.Fprintf(out, "%s  failed: %s\n", elapsed(began), s.what)
			if ctx.Err() != nil {
				return fmt.Errorf("interrupted before %s; the same command again resumes", s.what)
			}
			return err
		}
		fmt.Fprintf(out, "%s  %s\n", elapsed(began), s.what)
	}
	return nil
}

// elapsed is a step line's time column: seconds since began, right-aligned.
func elapsed(began time.Time) string {
	return fmt.Sprintf("%7.1fs", time.Since(began).Seconds())
}
