package hubctl

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// manifest is obj as a person writes it for kubectl apply: no status, no
// creation time.
func manifest(obj runtime.Object) (string, error) {
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return "", fmt.Errorf("write %T: %w", obj, err)
	}
	delete(u, "status")
	unstructured.RemoveNestedField(u, "metadata", "creationTimestamp")
	b, err := yaml.Marshal(u)
	if err != nil {
		return "", fmt.Errorf("write %T: %w", obj, err)
	}
	return string(b), nil
}
