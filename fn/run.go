package fn

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/fn/framework"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// The I/O shell around Processor: everything that reads or writes bytes.

// RunResourceList is the KRM function protocol: a ResourceList on r, the
// transformed ResourceList (with results) on w. It fails on input that is
// not a ResourceList and when any result is an error.
func RunResourceList(r io.Reader, w io.Writer) error {
	return RunResourceListLog(r, w, nil)
}

// RunResourceListLog is RunResourceList that also prints warning results,
// one line each, to stderr when the caller is not kpt: kustomize shows a
// function's stderr but never its results, while kpt shows the results
// (and would repeat stderr). kpt is recognised by the path annotation it
// puts on every item.
func RunResourceListLog(r io.Reader, w, stderr io.Writer) error {
	rw := &kio.ByteReadWriter{Reader: r, Writer: w, KeepReaderAnnotations: true}
	var warnings []string
	p := framework.ResourceListProcessorFunc(func(rl *framework.ResourceList) error {
		defer func() {
			if stderr == nil || fromKpt(rl.Items) {
				return
			}
			for _, res := range rl.Results {
				if res.Severity == framework.Warning {
					warnings = append(warnings, res.String())
				}
			}
		}()
		if rw.WrappingKind != kio.ResourceListKind {
			// kyaml also accepts bare manifests and kind List; a pipeline
			// that sends those is misconfigured, so do not pass them through.
			got := rw.WrappingKind
			if got == "" {
				got = "no ResourceList wrapper"
			}
			rl.Items = nil
			return fmt.Errorf("input is not a KRM ResourceList (want kind ResourceList, apiVersion config.kubernetes.io/v1, got %s); to run on plain manifests use `pivotcheck fn CONFIG.yaml FILE...`", got)
		}
		return Processor{}.Process(rl)
	})
	err := execute(p, rw)
	for _, l := range warnings {
		fmt.Fprintln(stderr, l)
	}
	if err != nil {
		return readError(err)
	}
	return nil
}

func fromKpt(items []*kyaml.RNode) bool {
	for _, it := range items {
		a := it.GetAnnotations(kioutil.PathAnnotation, kioutil.LegacyPathAnnotation)
		if a[kioutil.PathAnnotation] != "" || a[kioutil.LegacyPathAnnotation] != "" {
			return true
		}
	}
	return false
}

// readError makes kyaml's reader errors say what is wrong with the input.
func readError(err error) error {
	if strings.Contains(err.Error(), "wrong node kind") {
		return fmt.Errorf("reading the ResourceList: every item and every metadata field must be a YAML mapping: %w", err)
	}
	return err
}

// RunStandalone is kyaml's standalone form: configPath is the function
// config, files are manifest files ("-" is stdin; none means stdin). The
// transformed objects go to stdout, the results to stderr as one line each.
func RunStandalone(configPath string, files []string, stdin io.Reader, stdout, stderr io.Writer) error {
	raw, err := os.ReadFile(configPath)
	if err != nil {
		return fmt.Errorf("reading function config: %w", err)
	}
	fc, err := kyaml.Parse(string(raw))
	if err != nil {
		return fmt.Errorf("parsing function config %s: %w", configPath, err)
	}
	var input bytes.Buffer
	if len(files) == 0 {
		files = []string{"-"}
	}
	for _, f := range files {
		var b []byte
		if f == "-" {
			b, err = io.ReadAll(stdin)
		} else {
			b, err = os.ReadFile(f)
		}
		if err != nil {
			return fmt.Errorf("reading manifests: %w", err)
		}
		input.Write(b)
		if len(b) > 0 && b[len(b)-1] != '\n' {
			input.WriteByte('\n')
		}
		input.WriteString("---\n")
	}
	rw := &kio.ByteReadWriter{Reader: &input, Writer: stdout, FunctionConfig: fc, NoWrap: true}
	var rl *framework.ResourceList
	p := framework.ResourceListProcessorFunc(func(l *framework.ResourceList) error {
		rl = l
		return Processor{}.Process(l)
	})
	err = framework.Execute(p, rw)
	if rl != nil {
		for _, r := range rl.Results {
			fmt.Fprintln(stderr, r.String())
		}
	}
	if rs, ok := errors.AsType[framework.Results](err); ok {
		return fmt.Errorf("%d error result(s), listed above", len(rs))
	}
	if err != nil {
		return readError(err)
	}
	return nil
}
