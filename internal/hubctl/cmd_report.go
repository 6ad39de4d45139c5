package hubctl

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/hubkit/hubkit/internal/names"
	"github.com/hubkit/hubkit/internal/restorepoint"
)

func reportCommand(o *options) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Everything to look at, or to send, in one archive: manifests, events, logs, the guard, restore points",
		Long: `report writes one .tar.gz of what a person (or a vendor's support) needs to see why
the Hub does what it does: status (as -o json), the manifests of its workload, pods,
Services and their EndpointSlices, claims and their volumes, the guard's parameters and
policies, its restore points and a restore's record; the namespace's events; every
container's log, and the previous one's where a container restarted.

Secrets are never read: the archive names the Secrets the pods reference, and holds none
of their values. The archive is written whole or not at all (-f, default
hubkit-report-<namespace>-<time>.tar.gz).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			began := time.Now()
			c, h, err := o.connect(ctx)
			if err != nil {
				return err
			}
			if file == "" {
				file = fmt.Sprintf("hubkit-report-%s-%s.tar.gz", h.Namespace, began.UTC().Format("20060102-150405"))
			}
			r := &report{files: map[string][]byte{}}
			if err := c.collect(ctx, h, r); err != nil {
				return err
			}
			if err := r.write(file, began); err != nil {
				return err
			}
			fmt.Fprintf(o.streams.Out, "%s  %s written: %d files", elapsed(began), file, len(r.files))
			if len(r.missing) > 0 {
				fmt.Fprintf(o.streams.Out, "; %d things could not be read (missing.txt)", len(r.missing))
			}
			fmt.Fprintln(o.streams.Out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the archive to write")
	return cmd
}

// report is the archive's files by path, and what could not be read.
type report struct {
	files   map[string][]byte
	missing []string
}

func (r *report) add(path string, b []byte) { r.files[path] = b }

// manifest adds obj as YAML, without its managed fields.
func (r *report) manifest(dir string, obj runtime.Object, name string) {
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		r.missing = append(r.missing, fmt.Sprintf("%s/%s: %v", dir, name, err))
		return
	}
	unstructured.RemoveNestedField(u, "metadata", "managedFields")
	b, err := yaml.Marshal(u)
	if err != nil {
		r.missing = append(r.missing, fmt.Sprintf("%s/%s: %v", dir, name, err))
		return
	}
	r.add(filepath.Join("manifests", dir, name+".yaml"), b)
}

// note records what could not be read, and goes on.
func (r *report) note(what string, err error) {
	r.missing = append(r.missing, fmt.Sprintf("%s: %v", what, err))
}

func (c *Clients) collect(ctx context.Context, h Hub, r *report) error {
	s, err := c.status(ctx, h)
	if err != nil {
		return err
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	r.add("status.json", b)

	if h.Kind == "StatefulSet" {
		if w, err := c.Core.AppsV1().StatefulSets(h.Namespace).Get(ctx, h.Name, metav1.GetOptions{}); err == nil {
			r.manifest("statefulsets", w, w.Name)
		}
	} else if w, err := c.Core.AppsV1().Deployments(h.Namespace).Get(ctx, h.Name, metav1.GetOptions{}); err == nil {
		r.manifest("deployments", w, w.Name)
	}
	pods, err := c.pods(ctx, h.Namespace, s.Selector)
	if err != nil {
		return err
	}
	secrets := map[string]bool{}
	for i := range pods {
		p := &pods[i]
		r.manifest("pods", p, p.Name)
		for _, name := range secretsOf(p.Spec) {
			secrets[name] = true
		}
		c.logs(ctx, r, p)
	}
	for _, name := range s.Services {
		if svc, err := c.Core.CoreV1().Services(h.Namespace).Get(ctx, name, metav1.GetOptions{}); err == nil {
			r.manifest("services", svc, name)
		}
		eps, err := c.Core.DiscoveryV1().EndpointSlices(h.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + name})
		if err != nil {
			r.note("endpointslices of "+name, err)
			continue
		}
		for i := range eps.Items {
			r.manifest("endpointslices", &eps.Items[i], eps.Items[i].Name)
		}
	}
	for _, name := range h.Claims {
		pvc, err := c.Core.CoreV1().PersistentVolumeClaims(h.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			r.note("claim "+name, err)
			continue
		}
		r.manifest("persistentvolumeclaims", pvc, name)
		if pvc.Spec.VolumeName == "" {
			continue
		}
		if pv, err := c.Core.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{}); err == nil {
			r.manifest("persistentvolumes", pv, pv.Name)
		} else {
			r.note("volume "+pvc.Spec.VolumeName, err)
		}
	}
	for _, name := range []string{names.GuardParams, h.Name + journalSuffix} {
		if cm, err := c.Core.CoreV1().ConfigMaps(h.Namespace).Get(ctx, name, metav1.GetOptions{}); err == nil {
			r.manifest("configmaps", cm, name)
		}
	}
	if points, _, err := c.restorePoints(ctx, h); err == nil {
		for _, p := range points {
			if u, err := c.Dynamic.Resource(restorepoint.VolumeSnapshots).Namespace(h.Namespace).Get(ctx, p.Name, metav1.GetOptions{}); err == nil {
				r.unstructured("volumesnapshots", u)
			}
		}
	} else {
		r.note("restore points", err)
	}
	c.guardManifests(ctx, r)
	if evs, err := c.Core.CoreV1().Events(h.Namespace).List(ctx, metav1.ListOptions{}); err == nil {
		slices.SortFunc(evs.Items, func(a, b corev1.Event) int { return eventTime(a).Compare(eventTime(b)) })
		var out bytes.Buffer
		for _, e := range evs.Items {
			fmt.Fprintf(&out, "%s  %s %s/%s  %s: %s (x%d)\n", eventTime(e).UTC().Format(time.RFC3339), e.Type, strings.ToLower(e.InvolvedObject.Kind), e.InvolvedObject.Name, e.Reason, e.Message, max(e.Count, 1))
		}
		r.add("events.txt", out.Bytes())
	} else {
		r.note("events", err)
	}
	var list []string
	for name := range secrets {
		list = append(list, name)
	}
	slices.Sort(list)
	r.add("secrets.txt", []byte("Secrets the Hub's pods reference; never read, so no value of theirs is in this archive:\n"+strings.Join(list, "\n")+"\n"))
	return nil
}

func (r *report) unstructured(dir string, u *unstructured.Unstructured) {
	u = u.DeepCopy()
	unstructured.RemoveNestedField(u.Object, "metadata", "managedFields")
	b, err := yaml.Marshal(u.Object)
	if err != nil {
		r.note(dir+"/"+u.GetName(), err)
		return
	}
	r.add(filepath.Join("manifests", dir, u.GetName()+".yaml"), b)
}

func eventTime(e corev1.Event) time.Time {
	for _, t := range []time.Time{e.LastTimestamp.Time, e.EventTime.Time, e.FirstTimestamp.Time, e.CreationTimestamp.Time} {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// secretsOf names the Secrets a pod spec references.
func secretsOf(spec corev1.PodSpec) []string {
	var out []string
	for _, v := range spec.Volumes {
		if v.Secret != nil {
			out = append(out, v.Secret.SecretName)
		}
		if v.Projected != nil {
			for _, src := range v.Projected.Sources {
				if src.Secret != nil {
					out = append(out, src.Secret.Name)
				}
			}
		}
	}
	for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for _, c := range cs {
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					out = append(out, e.ValueFrom.SecretKeyRef.Name)
				}
			}
			for _, e := range c.EnvFrom {
				if e.SecretRef != nil {
					out = append(out, e.SecretRef.Name)
				}
			}
		}
	}
	return out
}

// logs adds each container's log, and the previous one's where it
// restarted.
func (c *Clients) logs(ctx context.Context, r *report, p *corev1.Pod) {
	restarted := map[string]bool{}
	for _, st := range append(slices.Clone(p.Status.InitContainerStatuses), p.Status.ContainerStatuses...) {
		restarted[st.Name] = st.RestartCount > 0 || st.LastTerminationState.Terminated != nil
	}
	for _, cs := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for _, ct := range cs {
			for _, previous := range []bool{false, true} {
				if previous && !restarted[ct.Name] {
					continue
				}
				name := ct.Name + ".log"
				if previous {
					name = ct.Name + ".previous.log"
				}
				b, err := c.Core.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: ct.Name, Previous: previous}).DoRaw(ctx)
				if err != nil {
					r.note(fmt.Sprintf("log of %s/%s", p.Name, name), err)
					continue
				}
				r.add(filepath.Join("logs", p.Name, name), b)
			}
		}
	}
}

// guardManifests adds the guard's policies and bindings.
func (c *Clients) guardManifests(ctx context.Context, r *report) {
	for _, res := range []string{"validatingadmissionpolicies", "validatingadmissionpolicybindings"} {
		list, err := c.Dynamic.Resource(schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: res}).List(ctx, metav1.ListOptions{LabelSelector: guardSelector})
		if err != nil {
			r.note("the guard's "+res, err)
			continue
		}
		for i := range list.Items {
			r.unstructured(res, &list.Items[i])
		}
	}
}

// write writes the archive whole, or not at all.
func (r *report) write(file string, at time.Time) error {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	var paths []string
	for p := range r.files {
		paths = append(paths, p)
	}
	if len(r.missing) > 0 {
		r.files["missing.txt"] = []byte(strings.Join(r.missing, "\n") + "\n")
		paths = append(paths, "missing.txt")
	}
	slices.Sort(paths)
	for _, p := range paths {
		b := r.files[p]
		if err := tw.WriteHeader(&tar.Header{Name: filepath.ToSlash(p), Mode: 0o644, Size: int64(len(b)), ModTime: at}); err != nil {
			return fmt.Errorf("write the report: %w", err)
		}
		if _, err := io.Copy(tw, bytes.NewReader(b)); err != nil {
			return fmt.Errorf("write the report: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	if err := gz.Close(); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	tmp := file + ".partial"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("write the report %s: %w", file, err)
	}
	if err := os.Rename(tmp, file); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write the report %s: %w", file, err)
	}
	return nil
}
