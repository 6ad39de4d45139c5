package hubctl

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// DefaultNamespace is where hubkit's overlays put the Hub: the namespace
// when neither -n nor the context names one.
const DefaultNamespace = "hubkit"

// Clients reach the cluster kubectl's flags name.
type Clients struct {
	Core    kubernetes.Interface
	Dynamic dynamic.Interface
}

// clientsFor makes the clients from kubectl's own flags (--kubeconfig,
// --context, -n, --as, ...).
func clientsFor(flags *genericclioptions.ConfigFlags) (*Clients, string, error) {
	cfg, err := flags.ToRESTConfig()
	if err != nil {
		return nil, "", fmt.Errorf("read the kubeconfig: %w", err)
	}
	ns, explicit, err := flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, "", fmt.Errorf("read the namespace from the kubeconfig: %w", err)
	}
	if !explicit && ns == metav1.NamespaceDefault {
		ns = DefaultNamespace
	}
	core, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("make a client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("make a dynamic client: %w", err)
	}
	return &Clients{Core: core, Dynamic: dyn}, ns, nil
}
