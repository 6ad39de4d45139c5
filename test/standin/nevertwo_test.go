package standin

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// member serves /v2/readyz as an HA member in role does.
func member(t *testing.T, name, role string) Member {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code := http.StatusServiceUnavailable
		if role == RolePrimary {
			code = http.StatusOK
		}
		writeJSONStatus(w, code, Health{Deployment{Mode: "ha", Role: role, NodeID: name}})
	}))
	t.Cleanup(srv.Close)
	return Member{Name: name, Client: NewClientAt(strings.TrimPrefix(srv.URL, "http://"))}
}

// The sampler fails on two primaries, and on having heard no member: each
// case's group is sampled for a few intervals, then checked.
func TestNeverTwo(t *testing.T) {
	unreachable := Member{Name: "lost", Client: NewClientAt("127.0.0.1:1")}
	for _, tc := range []struct {
		name    string
		members func(t *testing.T) ([]Member, error)
		wantErr string // "" for none
	}{
		{"a primary and a standby", func(t *testing.T) ([]Member, error) {
			return []Member{member(t, "hbih-0", RolePrimary), member(t, "hbih-1", RoleSecondary)}, nil
		}, ""},
		{"a standby alone, its primary's node lost", func(t *testing.T) ([]Member, error) {
			return []Member{unreachable, member(t, "hbih-1", RoleSecondary)}, nil
		}, ""},
		{"two primaries", func(t *testing.T) ([]Member, error) {
			return []Member{member(t, "hbih-0", RolePrimary), member(t, "hbih-1", RolePrimary)}, nil
		}, "two primaries at once"},
		{"no member answers", func(t *testing.T) ([]Member, error) {
			return []Member{unreachable}, nil
		}, "no member answered"},
		{"no member listed", func(t *testing.T) ([]Member, error) { return nil, nil }, "no member answered"},
		{"the members cannot be listed", func(t *testing.T) ([]Member, error) {
			return nil, errors.New("the API server is down")
		}, "the API server is down"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			members, err := tc.members(t)
			s := SampleNeverTwo(func(context.Context) ([]Member, error) { return members, err }, 10*time.Millisecond)
			require.Eventually(t, func() bool { return s.Samples() >= 3 }, 5*time.Second, 5*time.Millisecond)
			got := s.Check()
			if tc.wantErr == "" {
				assert.NoError(t, got)
			} else {
				require.Error(t, got)
				assert.Contains(t, got.Error(), tc.wantErr)
			}
			stopped := s.Stop()
			if tc.wantErr == "" {
				assert.NoError(t, stopped)
			}
		})
	}
}

// A Check covers the samples since the last: a group heard once, then
// reached no more, fails the next Check.
func TestNeverTwoChecksEachStretch(t *testing.T) {
	up := member(t, "hbih-0", RolePrimary)
	reach := make(chan bool, 1)
	reach <- true
	reachable := true
	s := SampleNeverTwo(func(context.Context) ([]Member, error) {
		select {
		case reachable = <-reach:
		default:
		}
		if reachable {
			return []Member{up}, nil
		}
		return nil, nil
	}, 10*time.Millisecond)
	defer s.Stop()
	require.Eventually(t, func() bool { return s.Samples() >= 2 }, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, s.Check())
	reach <- false
	n := s.Samples()
	require.Eventually(t, func() bool { return s.Samples() >= n+3 }, 5*time.Second, 5*time.Millisecond)
	assert.ErrorContains(t, s.Check(), "no member answered")
}
