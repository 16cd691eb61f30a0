// Command controller is the reference controller of secretsync: it syncs
// ExternalSecrets into Kubernetes Secrets, with the manifests written for
// the External Secrets Operator.
//
// Usage:
//
//	controller render -f FILE   print the Secrets FILE's ExternalSecrets would produce
//	controller run [flags]      run the controller (the default)
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:]))
}

func run(ctx context.Context, args []string) int {
	cmd := "run"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "render":
		err = renderCmd(ctx, args, os.Stdin, os.Stdout, os.Stderr)
	case "run":
		err = runCmd(ctx, args)
	case "help":
		fmt.Fprintln(os.Stdout, usage)
		return 0
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n%s\n", cmd, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		return 1
	}
	return 0
}

const usage = `usage:
  controller render -f FILE   print the Secrets the ExternalSecrets in FILE would produce
  controller run [flags]      run the controller (the default; see run -h)`
