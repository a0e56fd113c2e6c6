package scenario

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/lab"
	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
)

// PoolSize is how many fake systems the BMC emulator of an IronicPair
// declares: the demo's two namespaces of 7 hosts and the lab tests' own
// namespaces, with room to spare.
const PoolSize = 64

// IronicReadyTimeout bounds each start of a lab cluster's Ironic (two
// start at once on a busy machine).
const IronicReadyTimeout = 3 * time.Minute

// IronicPair is a bootstrap and a target cluster whose BMOs run without
// test mode, each against its own real Ironic that follows the cluster's
// Ironic Deployment, with one BMC emulator for every host and an image
// server on loopback.
type IronicPair struct {
	*testenv.Pair
	BMC *lab.BMCEmulator
	// Images is the image server's base URL (see ImageURL).
	Images string

	pool   *hostPool
	images *http.Server
}

// The image every lab host is deployed with, and its checksum file.
const (
	ImageName     = "node.raw"
	ImageChecksum = ImageName + ".sha256sum"
)

// ImageURL is the image's URL, ChecksumURL its sha256 checksum file's.
func (p *IronicPair) ImageURL() string    { return p.Images + "/" + ImageName }
func (p *IronicPair) ChecksumURL() string { return p.Images + "/" + ImageChecksum }

// StartIronicPair starts the BMC emulator with PoolSize systems, the image
// server, and a pair as StartPair does with BMO against each cluster's own
// Ironic; it returns once both Ironics answer. Unset lab options default to
// the full lab. Stop stops everything.
func StartIronicPair(ctx context.Context, bootstrap, target testenv.Options) (p *IronicPair, err error) {
	names := make([]string, PoolSize)
	for i := range names {
		names[i] = fmt.Sprintf("pool-%02d", i)
	}
	p = &IronicPair{}
	defer func() {
		if err != nil {
			_ = p.Stop()
			p = nil
		}
	}()
	var wg sync.WaitGroup
	var emuErr error
	wg.Go(func() {
		p.BMC, emuErr = lab.StartBMCEmulator(ctx, lab.NewFakeSystems(names...), 2*time.Minute)
	})
	if p.Images, p.images, err = serveImage(); err != nil {
		wg.Wait()
		return p, err
	}
	wg.Wait()
	if emuErr != nil {
		return p, emuErr
	}
	p.pool = &hostPool{emu: p.BMC, owner: map[string]int{}}
	mode := &lab.IronicMode{BMC: p.BMC}
	for _, o := range []*testenv.Options{&bootstrap, &target} {
		lo := Controllers
		if o.Lab != nil {
			lo = *o.Lab
		}
		lo.Ironic = mode
		lo.ReadyTimeout = max(lo.ReadyTimeout, IronicReadyTimeout)
		o.Lab = &lo
	}
	if p.Pair, err = StartPair(ctx, bootstrap, target); err != nil {
		return p, err
	}
	errs := make([]error, 2)
	for i, c := range []*testenv.Cluster{p.Bootstrap, p.Target} {
		wg.Go(func() { errs[i] = c.Lab.WaitIronic(ctx, true, IronicReadyTimeout) })
	}
	wg.Wait()
	return p, errors.Join(errs...)
}

// Hardware is what fixture.LabBuild needs to give hosts their BMCs in this
// pair's emulator and the pair's image.
func (p *IronicPair) Hardware() *fixture.LabHardware {
	// Builds are in the bootstrap; its Ironic may have been restarted since,
	// so each read asks the lab for the one that runs now.
	progress := func(ctx context.Context) (map[string]string, error) {
		return p.Bootstrap.Lab.IronicClient().NodeProgress(ctx)
	}
	return &fixture.LabHardware{BMC: p.pool.bmc, ImageURL: p.ImageURL(), ImageChecksum: p.ChecksumURL(), Progress: progress}
}

// System returns the emulated system given to host ns/name.
func (p *IronicPair) System(ns, host string) (lab.FakeSystem, bool) {
	return p.pool.system(ns, host)
}

// Stop stops the pair (with its Ironics), the emulator and the image
// server.
func (p *IronicPair) Stop() error {
	if p == nil {
		return nil
	}
	var errs []error
	if p.Pair != nil {
		errs = append(errs, p.Pair.Stop())
	}
	errs = append(errs, p.BMC.Stop())
	if p.images != nil {
		errs = append(errs, p.images.Close())
	}
	return errors.Join(errs...)
}

// Keep keeps every lab folder after Stop (a test failed).
func (p *IronicPair) Keep() {
	if p.Pair != nil {
		p.Bootstrap.Lab.Keep()
		p.Target.Lab.Keep()
	}
	p.BMC.Keep()
}

// BMCHost is how the BMC write record names host ns/name (BMCWrite.Host,
// lab.By's host).
func BMCHost(ns, host string) string { return ns + "/" + host }

// NodeName is the name BMO gives host ns/name's Ironic node.
func NodeName(ns, host string) string { return ns + "~" + host }

// hostPool hands out the emulator's systems, one per host, for good.
type hostPool struct {
	emu   *lab.BMCEmulator
	mu    sync.Mutex
	owner map[string]int // BMCHost -> index into emu.Systems
}

func (p *hostPool) bmc(ns, host string) (string, string, error) {
	key := BMCHost(ns, host)
	p.mu.Lock()
	defer p.mu.Unlock()
	i, ok := p.owner[key]
	if !ok {
		i = len(p.owner)
		if i >= len(p.emu.Systems) {
			return "", "", fmt.Errorf("the BMC emulator's %d systems are all taken", len(p.emu.Systems))
		}
		p.owner[key] = i
		p.emu.Recorder.NameSystem(p.emu.Systems[i].UUID, key)
	}
	s := p.emu.Systems[i]
	return "redfish+" + p.emu.URL + "/redfish/v1/Systems/" + s.UUID, s.MAC, nil
}

func (p *hostPool) system(ns, host string) (lab.FakeSystem, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i, ok := p.owner[BMCHost(ns, host)]
	if !ok {
		return lab.FakeSystem{}, false
	}
	return p.emu.Systems[i], true
}

// serveImage serves a small raw disk image and its sha256 checksum file
// (sha256sum's format) on a free loopback port.
func serveImage() (string, *http.Server, error) {
	img := make([]byte, 1<<20)
	copy(img, "pivotcheck lab node image\n")
	sum := sha256.Sum256(img)
	sumFile := []byte(hex.EncodeToString(sum[:]) + "  " + ImageName + "\n")
	mux := http.NewServeMux()
	mux.HandleFunc("/"+ImageName, func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, ImageName, time.Time{}, bytes.NewReader(img))
	})
	mux.HandleFunc("/"+ImageChecksum, func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, ImageChecksum, time.Time{}, bytes.NewReader(sumFile))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("image server: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), srv, nil
}
