package hubctl

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAPlanPrintsALinePerStepOrItsKubectlLines(t *testing.T) {
	var did []string
	p := plan{
		{what: "deployment/hbih scaled to 0", kubectl: []string{"kubectl -n hubkit scale deployment/hbih --replicas=0"}, do: func(context.Context) error { did = append(did, "scale"); return nil }},
		{what: "the journal written", do: func(context.Context) error { did = append(did, "journal"); return nil }},
	}

	var out bytes.Buffer
	require.NoError(t, p.run(context.Background(), &out, true, time.Now()))
	assert.Equal(t, "# deployment/hbih scaled to 0\nkubectl -n hubkit scale deployment/hbih --replicas=0\n# the journal written (kubectl hubkit's own: no kubectl line)\n", out.String())
	assert.Empty(t, did, "--dry-run does nothing")

	out.Reset()
	require.NoError(t, p.run(context.Background(), &out, false, time.Now()))
	assert.Regexp(t, regexp.MustCompile(`^ +\d+\.\ds  deployment/hbih scaled to 0\n +\d+\.\ds  the journal written\n$`), out.String())
	assert.Equal(t, []string{"scale", "journal"}, did)
}

func TestAFailedStepIsNamedAndAnInterruptSaysHowToResume(t *testing.T) {
	failing := plan{{what: "claim hbih-appdata deleted", do: func(context.Context) error { return errors.New("forbidden") }}}
	var out bytes.Buffer
	err := failing.run(context.Background(), &out, false, time.Now())
	assert.EqualError(t, err, "forbidden")
	assert.Contains(t, out.String(), "failed: claim hbih-appdata deleted")

	ctx, cancel := context.WithCancel(context.Background())
	interrupted := plan{{what: "the Hub serving", do: func(context.Context) error { cancel(); return context.Canceled }}}
	err = interrupted.run(ctx, &out, false, time.Now())
	assert.EqualError(t, err, "interrupted before the Hub serving; the same command again resumes")
	assert.Equal(t, Failed, CodeOf(err))
}
