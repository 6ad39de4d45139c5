package standin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Member is one member of an HA group, as a sampler reaches it.
type Member struct {
	Name   string
	Client *Client
}

// NeverTwo samples an HA group's members every interval for as long as it
// runs, asking each for /v2/readyz: who answers, and who acts as primary
// (answers 200, or says primary). It is the one check of HA mode's promise,
// never two primaries, for the stand-in's own tests and the end-to-end
// scenarios alike; and since a sampler that reached nobody has shown
// nothing, Check fails unless some member answered since the last Check.
type NeverTwo struct {
	members  func(context.Context) ([]Member, error)
	interval time.Duration
	cancel   context.CancelFunc
	done     chan struct{}

	mu      sync.Mutex
	samples int      // since the last Check
	heard   int      // samples since the last Check in which a member answered
	total   int      // samples in all
	two     []string // every sample with two primaries, ever
	last    error    // the last sample's error listing the members
}

// SampleNeverTwo starts sampling the members that members lists (looked up
// at every sample, so that replaced pods are followed) every interval.
func SampleNeverTwo(members func(context.Context) ([]Member, error), interval time.Duration) *NeverTwo {
	ctx, cancel := context.WithCancel(context.Background())
	s := &NeverTwo{members: members, interval: interval, cancel: cancel, done: make(chan struct{})}
	go s.run(ctx)
	return s
}

func (s *NeverTwo) run(ctx context.Context) {
	defer close(s.done)
	tick := time.NewTicker(s.interval)
	defer tick.Stop()
	for {
		s.sample(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (s *NeverTwo) sample(ctx context.Context) {
	members, err := s.members(ctx)
	if ctx.Err() != nil {
		return
	}
	var answered int
	var primaries []string
	for _, m := range members {
		code, h, err := m.Client.Readyz(ctx)
		if err != nil {
			continue
		}
		answered++
		if code == http.StatusOK || h.Deployment.Role == RolePrimary {
			primaries = append(primaries, m.Name)
		}
	}
	if ctx.Err() != nil {
		return // cut short by Stop: not a whole sample
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = err
	s.samples++
	s.total++
	if answered > 0 {
		s.heard++
	}
	if len(primaries) > 1 {
		s.two = append(s.two, time.Now().Format(time.StampMilli)+": "+strings.Join(primaries, ", "))
	}
}

// Check returns an error when a sample, ever, saw two primaries, or when no
// member answered any sample since the last Check (or since the start).
func (s *NeverTwo) Check() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.check(true)
}

func (s *NeverTwo) check(wantHeard bool) error {
	var errs []error
	if len(s.two) > 0 {
		errs = append(errs, fmt.Errorf("two primaries at once in %d of %d samples: %s", len(s.two), s.total, strings.Join(s.two, "; ")))
	}
	if wantHeard && s.heard == 0 {
		why := "no member answered"
		if s.samples == 0 {
			why = "no sample was taken"
		} else if s.last != nil {
			why += " (listing them: " + s.last.Error() + ")"
		}
		errs = append(errs, fmt.Errorf("never two primaries is unshown since the last check: %s in %d samples", why, s.samples))
	}
	s.samples, s.heard = 0, 0
	return errors.Join(errs...)
}

// Samples is how many samples were taken in all.
func (s *NeverTwo) Samples() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// Stop ends the sampling and returns Check's verdict on what it saw since
// the last Check; when it took no sample since, only whether it ever saw
// two primaries.
func (s *NeverTwo) Stop() error {
	s.cancel()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.check(s.samples > 0)
}
