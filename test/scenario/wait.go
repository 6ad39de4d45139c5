package scenario

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// A Condition looks once at what a step waits for. done says it holds; seen
// says what it saw, in a few words, for the message when the wait runs out.
// An error is something seen too (a read the apiserver refused, an address
// that does not answer yet): the wait goes on, and reports it if it is the
// last thing seen.
type Condition func(ctx context.Context) (done bool, seen string, err error)

// Tick is how often Until and StaysFor look.
const Tick = 100 * time.Millisecond

// Until looks at cond every Tick until it is done, and fails the test if it
// is not within timeout: "waited 30s for <what>; last saw: <seen>". what
// says what the test waits for as a reader would ("the Hub's pod Ready").
func Until(t testing.TB, what string, timeout time.Duration, cond Condition) {
	t.Helper()
	until(t, Tick, what, timeout, cond)
}

// until is Until looking every tick: a wait whose end is a figure looks
// more often than Tick.
func until(t testing.TB, tick time.Duration, what string, timeout time.Duration, cond Condition) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	seen := "nothing (the first look did not finish)"
	err := wait.PollUntilContextCancel(ctx, tick, true, func(ctx context.Context) (bool, error) {
		done, s, err := cond(ctx)
		if ctx.Err() != nil || (err != nil && time.Until(deadline) < tick) {
			// Cut off by the timeout, or by a client's rate limiter that
			// will not wait past it: keep what the last whole look saw.
			return false, nil
		}
		seen = describe(s, err)
		return done && err == nil, nil
	})
	if err != nil {
		t.Fatal(timedOut(what, timeout, seen))
	}
}

// timedOut is the message of a wait for what that ran out after timeout,
// having last seen seen: every wait in the scenarios says it so.
func timedOut(what string, timeout time.Duration, seen string) string {
	return fmt.Sprintf("waited %s for %s; last saw: %s", timeout, what, seen)
}

// StaysFor wants cond to hold all through d, looking every Tick and once
// more when d is over, and fails the test the first time it does not. Here
// the time itself is the assertion: something nothing should change stays
// as it is past the period of whatever could change it (a controller's
// resync, the pod GC's sweep).
func StaysFor(t testing.TB, what string, d time.Duration, cond Condition) {
	t.Helper()
	start := time.Now()
	tick := time.NewTicker(Tick)
	defer tick.Stop()
	for {
		over := time.Since(start) >= d
		held, s, err := cond(context.Background())
		if !held || err != nil {
			t.Fatalf("wanted %s for %s; after %s saw: %s", what, d, time.Since(start).Round(10*time.Millisecond), describe(s, err))
		}
		if over {
			return
		}
		<-tick.C
	}
}

func describe(seen string, err error) string {
	switch {
	case err == nil && seen == "":
		return "no detail"
	case err == nil:
		return seen
	case seen == "":
		return "error: " + err.Error()
	default:
		return seen + "; error: " + err.Error()
	}
}
