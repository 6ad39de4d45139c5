package scenario

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// failure is a test that records how it failed.
type failure struct {
	testing.TB
	msg string
}

func (f *failure) Helper() {}
func (f *failure) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	runtime.Goexit()
}
func (f *failure) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// failed runs step as a test and returns its failure, "" when it passed.
func failed(step func(testing.TB)) string {
	f := &failure{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		step(f)
	}()
	<-done
	return f.msg
}

func TestUntilEndsWhenDone(t *testing.T) {
	looks := 0
	msg := failed(func(t testing.TB) {
		Until(t, "the third look", time.Second, func(context.Context) (bool, string, error) {
			looks++
			return looks == 3, "", nil
		})
	})
	assert.Empty(t, msg)
	assert.Equal(t, 3, looks)
}

func TestUntilSaysWhatItWaitedForAndLastSaw(t *testing.T) {
	looks := 0
	msg := failed(func(t testing.TB) {
		Until(t, "the Hub's pod Ready", 300*time.Millisecond, func(context.Context) (bool, string, error) {
			looks++
			return false, fmt.Sprintf("pod Pending, look %d", looks), nil
		})
	})
	// The last look, or the one before when the timeout cut the last off
	// (a loaded machine).
	assert.Contains(t, []string{
		fmt.Sprintf("waited 300ms for the Hub's pod Ready; last saw: pod Pending, look %d", looks),
		fmt.Sprintf("waited 300ms for the Hub's pod Ready; last saw: pod Pending, look %d", looks-1),
	}, msg)
	assert.GreaterOrEqual(t, looks, 2, "it looked more than once")
}

func TestUntilReportsAnErrorAsWhatItSaw(t *testing.T) {
	msg := failed(func(t testing.TB) {
		Until(t, "an answer", 200*time.Millisecond, func(context.Context) (bool, string, error) {
			return true, "", errors.New("connection refused")
		})
	})
	assert.Equal(t, "waited 200ms for an answer; last saw: error: connection refused", msg, "done with an error is not done")
}

// A look cut off at the end (client-go's rate limiter refuses a wait past
// the deadline) is not what the wait last saw.
func TestUntilKeepsTheLastWholeLook(t *testing.T) {
	msg := failed(func(t testing.TB) {
		Until(t, "the pod Ready", 300*time.Millisecond, func(ctx context.Context) (bool, string, error) {
			if d, _ := ctx.Deadline(); time.Until(d) < Tick {
				return false, "", errors.New("client rate limiter Wait returned an error: rate: Wait(n=1) would exceed context deadline")
			}
			return false, "pod Pending", nil
		})
	})
	assert.Equal(t, "waited 300ms for the pod Ready; last saw: pod Pending", msg)
}

func TestStaysForLooksUntilTheEnd(t *testing.T) {
	start := time.Now()
	var last time.Duration
	msg := failed(func(t testing.TB) {
		StaysFor(t, "nothing moving", 300*time.Millisecond, func(context.Context) (bool, string, error) {
			last = time.Since(start)
			return true, "", nil
		})
	})
	assert.Empty(t, msg)
	assert.GreaterOrEqual(t, last, 300*time.Millisecond, "the last look is after the period")
}

func TestStaysForFailsTheFirstTimeItDoesNotHold(t *testing.T) {
	looks := 0
	msg := failed(func(t testing.TB) {
		StaysFor(t, "the pod unscheduled", time.Minute, func(context.Context) (bool, string, error) {
			looks++
			return looks < 3, "pod on node a", nil
		})
	})
	assert.Regexp(t, `^wanted the pod unscheduled for 1m0s; after \d+ms saw: pod on node a$`, msg)
	assert.Equal(t, 3, looks)
}
