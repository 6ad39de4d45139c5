package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/hubkit/hubkit/internal/hub"
	"github.com/hubkit/hubkit/internal/names"
	"github.com/hubkit/hubkit/test/postgres"
)

// Two Hub stand-ins in HA mode on a real PostgreSQL (test/postgres), each
// with its labeler, as in a member pod, against client-go's fake clientset:
// the labels follow the Hubs' roles (hbih-0 primary, hbih-1 secondary),
// hbih-1 is labelled primary after hbih-0's kill -9, hbih-0 again once it
// is back (failback); a sampler every 20 ms never sees two pods labelled
// primary. The times from the role change to the label are logged.
func TestTheLabelsFollowTheStandins(t *testing.T) {
	// make check leaves this test to make test (HOST_TESTS), which installs
	// PostgreSQL first: missing, it is a failure, not a skip.
	_, err := os.Stat("/usr/lib/postgresql")
	require.NoError(t, err, "no PostgreSQL server installed (Debian's postgresql; make tools installs it)")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	db, err := postgres.Start(ctx, postgres.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, db.Stop()) })
	bin := filepath.Join(t.TempDir(), "standin")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/hubkit/hubkit/test/cmd/standin").CombinedOutput()
	require.NoError(t, err, "%s", out)

	client := fake.NewClientset()
	members := map[string]*member{}
	for _, name := range []string{"hbih-0", "hbih-1"} {
		_, err := client.CoreV1().Pods("hubkit").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "hubkit", Labels: map[string]string{names.HARoleLabel: names.HARoleSecondary}}}, metav1.CreateOptions{})
		require.NoError(t, err)
		m := &member{t: t, name: name, bin: bin, jdbc: db.JDBCURI(), appData: t.TempDir(), addr: freeAddr(t)}
		members[name] = m
		t.Cleanup(m.kill)
		peers, err := Peers(name, 2)
		require.NoError(t, err)
		l := &Labeler{Readyz: "http://" + m.addr + hub.Readyz, HTTP: &http.Client{Timeout: 100 * time.Millisecond},
			Pods: client.CoreV1().Pods("hubkit"), Pod: name, Peers: peers}
		lctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); _ = l.Run(lctx, 100*time.Millisecond) }()
		t.Cleanup(func() { stop(); <-done })
	}
	labels := func() map[string]string {
		got := map[string]string{}
		for name := range members {
			p, err := client.CoreV1().Pods("hubkit").Get(context.Background(), name, metav1.GetOptions{})
			if err == nil {
				got[name] = p.Labels[names.HARoleLabel]
			}
		}
		return got
	}
	var mu sync.Mutex
	var twoPrimaries []string
	sampling, stopSampling := context.WithCancel(ctx)
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for sampling.Err() == nil {
			if l := labels(); l["hbih-0"] == names.HARolePrimary && l["hbih-1"] == names.HARolePrimary {
				mu.Lock()
				twoPrimaries = append(twoPrimaries, time.Now().Format(time.StampMilli))
				mu.Unlock()
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	wait := func(what string, want map[string]string) time.Time {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if l := labels(); l["hbih-0"] == want["hbih-0"] && l["hbih-1"] == want["hbih-1"] {
				return time.Now()
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("%s: want labels %v, have %v", what, want, labels())
		return time.Time{}
	}

	require.NoError(t, members["hbih-0"].run(ctx, "create"))
	members["hbih-0"].start()
	members["hbih-1"].start()
	wait("both run", map[string]string{"hbih-0": names.HARolePrimary, "hbih-1": names.HARoleSecondary})

	killed := members["hbih-0"].kill2()
	took := wait("hbih-0 killed", map[string]string{"hbih-0": names.HARoleSecondary, "hbih-1": names.HARolePrimary}).Sub(killed)
	t.Logf("kill -9 of the primary to hbih-1 labelled primary: %s (the stand-in's lease is 5 s)", took.Round(10*time.Millisecond))

	back := members["hbih-0"].start()
	took = wait("hbih-0 back", map[string]string{"hbih-0": names.HARolePrimary, "hbih-1": names.HARoleSecondary}).Sub(back)
	t.Logf("the preferred primary's restart to its label primary again: %s", took.Round(10*time.Millisecond))

	stopSampling()
	<-sampled
	assert.Empty(t, twoPrimaries, "two pods labelled primary at once")
}

// member is one stand-in in HA mode, as a member's container runs it.
type member struct {
	t                        *testing.T
	name, bin, jdbc, appData string
	addr                     string
	cmd                      *exec.Cmd
	done                     chan struct{}
}

func (m *member) command(ctx context.Context, command string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, m.bin, "ha", command, "-n", m.name, "-j", "${HUB_JDBC_URI}")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HUB_JDBC_URI=" + m.jdbc, "HUBKIT_STANDIN_VERSION=test",
		"HUBKIT_STANDIN_APPDATA=" + m.appData, "HUBKIT_STANDIN_HTTP_ADDR=" + m.addr,
		"HUBKIT_STANDIN_EXTRA_ADDRS=" + freeAddr(m.t) + "," + freeAddr(m.t),
		"HUBKIT_STANDIN_START_DELAY=200ms", "HUBKIT_STANDIN_SHUTDOWN_DELAY=0s"}
	return cmd
}

func (m *member) run(ctx context.Context, command string) error {
	out, err := m.command(ctx, command).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", m.name, command, err, out)
	}
	return nil
}

func (m *member) start() time.Time {
	m.cmd = m.command(context.Background(), "start")
	at := time.Now()
	require.NoError(m.t, m.cmd.Start())
	m.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(m.cmd, m.done)
	return at
}

// kill2 is kill -9, and returns when.
func (m *member) kill2() time.Time {
	at := time.Now()
	m.kill()
	return at
}

func (m *member) kill() {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGKILL)
	<-m.done
	m.cmd = nil
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}
