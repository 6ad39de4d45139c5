package hubctl

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
)

// status names what holds a pod in its init containers: a restore point
// before an upgrade that failed says why, in its termination message.
func TestStatusNamesTheInitContainerThatHoldsThePod(t *testing.T) {
	done := corev1.ContainerStatus{Name: "restore-point", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}}
	failed := corev1.ContainerStatus{
		Name:                 "restore-point",
		State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Message: "the restore point before the upgrade from 4.3.3 to 4.4.0: failed\n"}},
	}
	running := corev1.ContainerStatus{Name: "settings-managed", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
	for _, tc := range []struct {
		name     string
		statuses []corev1.ContainerStatus
		want     string
	}{
		{"all done", []corev1.ContainerStatus{done}, ""},
		{"none", nil, ""},
		{"a failed one says why", []corev1.ContainerStatus{failed, running}, "init container restore-point CrashLoopBackOff: the restore point before the upgrade from 4.3.3 to 4.4.0: failed"},
		{"the first not done", []corev1.ContainerStatus{done, running}, "init container settings-managed running"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, initHold(tc.statuses))
		})
	}
}
