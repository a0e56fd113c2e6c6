package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// IronicBMO is BMO v0.13.2's manager run against a real Ironic (not in
// test mode): its provisioner registers, inspects, provisions and powers
// hosts through that Ironic's API, and the Ironic writes to the emulated
// BMCs.
type IronicBMO struct {
	Dir  string
	proc *process
	keep bool
}

// StartBMOWithIronic starts BMO against cluster c, with its provisioner
// pointed at ir: IRONIC_ENDPOINT, no authentication (METAL3_AUTH_ROOT_DIR is
// an empty folder), and a deploy kernel and ramdisk served by ir's file
// server (empty files: nothing boots them). Its webhook is not served.
func StartBMOWithIronic(ctx context.Context, c Cluster, ir *Ironic, timeout time.Duration) (b *IronicBMO, err error) {
	bins, err := FindBinaries(BMO)
	if err != nil {
		return nil, err
	}
	healthPort, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pivotcheck-bmo-"+c.Name+"-")
	if err != nil {
		return nil, fmt.Errorf("BMO folder: %w", err)
	}
	b = &IronicBMO{Dir: dir}
	defer func() {
		if err != nil {
			b.keep = true
			_ = b.Stop()
		}
	}()
	env, err := bmoIronicEnv(dir, ir.URL, ir.HTTPURL, ir.HTTPRoot)
	if err != nil {
		return b, err
	}
	name := c.Name + "/" + BMO + "-ironic-" + ir.Name
	b.proc = &process{
		name: name, bin: bins[BMO], env: env,
		args: []string{
			"--kubeconfig=" + c.Kubeconfig, "--webhook-port=0", "--metrics-addr=0",
			"--health-addr=127.0.0.1:" + strconv.Itoa(healthPort),
		},
		dir: filepath.Join(dir, "run"), logPath: filepath.Join(dir, logName(name)),
	}
	if err := b.proc.start(); err != nil {
		return b, err
	}
	if err := b.proc.waitReady(ctx, timeout, httpReady("http://127.0.0.1:"+strconv.Itoa(healthPort)+"/readyz")); err != nil {
		return b, err
	}
	return b, nil
}

// Check reports whether BMO has stopped, with its log.
func (b *IronicBMO) Check() error {
	if b == nil || b.proc == nil {
		return nil
	}
	if err := b.proc.exited(); err != nil {
		return b.proc.failure("has stopped", err)
	}
	return nil
}

// Logs returns the last lines of BMO's log.
func (b *IronicBMO) Logs(lines int) string {
	if b == nil || b.proc == nil {
		return ""
	}
	return fmt.Sprintf("--- %s (%s), last %d lines:\n%s\n", b.proc.name, b.proc.logPath, lines, indent(tail(b.proc.logPath, lines)))
}

// Keep keeps BMO's folder after Stop (a test failed).
func (b *IronicBMO) Keep() {
	if b != nil {
		b.keep = true
	}
}

// Stop ends BMO and removes its folder unless Keep was called.
func (b *IronicBMO) Stop() error {
	if b == nil {
		return nil
	}
	if b.proc != nil {
		b.proc.stop(5 * time.Second)
	}
	if b.keep {
		fmt.Fprintf(os.Stderr, "lab: BMO files kept in %s\n", b.Dir)
		return nil
	}
	if err := os.RemoveAll(b.Dir); err != nil {
		return fmt.Errorf("removing BMO folder %s: %w", b.Dir, err)
	}
	return nil
}

// bmoIronicEnv is the environment of a BMO whose provisioner talks to the
// Ironic at ironicURL: IRONIC_ENDPOINT, no authentication (an empty auth
// folder under dir), and a deploy kernel and ramdisk written to httpRoot,
// served at httpURL.
func bmoIronicEnv(dir, ironicURL, httpURL, httpRoot string) ([]string, error) {
	auth := filepath.Join(dir, "auth")
	if err := os.MkdirAll(auth, 0o700); err != nil {
		return nil, fmt.Errorf("BMO auth folder: %w", err)
	}
	for _, f := range []string{"ironic-python-agent.kernel", "ironic-python-agent.initramfs"} {
		if err := os.WriteFile(filepath.Join(httpRoot, f), nil, 0o600); err != nil {
			return nil, fmt.Errorf("deploy image %s: %w", f, err)
		}
	}
	return append([]string{
		"IRONIC_ENDPOINT=" + ironicURL + "/v1/",
		"METAL3_AUTH_ROOT_DIR=" + auth,
		"DEPLOY_KERNEL_URL=" + httpURL + "/ironic-python-agent.kernel",
		"DEPLOY_RAMDISK_URL=" + httpURL + "/ironic-python-agent.initramfs",
		// Unset: BMO would look for an Ironic resource of the Ironic
		// Standalone Operator instead of using IRONIC_ENDPOINT.
		"IRONIC_NAME=", "IRONIC_NAMESPACE=",
	}, noProxyEnv...), nil
}
