package controller_test

import (
	"context"
	"fmt"
	"log"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/secretsync/secretsync/rollout/controller"
)

// An operator runs the rollout controller beside its own controllers, on
// the config and the metrics registry it has already. Building the
// controller contacts no server; Run starts the watches.
func Example() {
	// In an operator, rest.InClusterConfig() or controller-runtime's
	// ctrl.GetConfigOrDie().
	cfg := &rest.Config{Host: "https://kube-apiserver.example:6443"}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		log.Fatal(err)
	}
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		log.Fatal(err)
	}
	reg := prometheus.NewRegistry()

	rollouts := controller.New(controller.Config{
		Kube:       kube,
		Metadata:   meta,
		Namespace:  "shop",
		Registerer: reg,
	})
	// Run blocks until ctx is done:
	//
	//	go func() { errs <- rollouts.Run(ctx) }()
	//
	// Under controller-runtime, mgr.Add(manager.RunnableFunc(rollouts.Run))
	// runs it with the operator's controllers, on the replica that leads
	// when leader election is on.
	_ = rollouts

	// A Config that lacks a client is an error from Run, not a panic.
	err = controller.New(controller.Config{Kube: kube}).Run(context.Background())
	fmt.Println(err)
	// Output: rollout controller: Config.Metadata is nil
}
