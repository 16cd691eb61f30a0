package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"time"

	"github.com/secretsync/secretsync/internal/render"
)

func renderCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "", "manifest file with an ExternalSecret, its store and the Secrets and ConfigMaps they use; - for stdin")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" {
		return errors.New("render needs -f FILE")
	}
	in := stdin
	if *file != "-" {
		f, err := os.Open(*file)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	reg, err := registry(newMetrics(nil))
	if err != nil {
		return err
	}
	return render.Render(ctx, in, stdout, render.Options{Registry: reg, Now: time.Now(), Warnings: stderr})
}
