// Package movelock keeps two pivotcheck runs (move, move-back, a resume,
// restore) from working on one namespace at the same time: a
// coordination.k8s.io/v1 Lease in the namespace of each cluster involved,
// renewed while the run lives, and an flock on the backup folder. The
// decision over a Lease (free, ours, held, expired) is pure (Decide); the
// I/O is in lease.go and folder.go.
package movelock

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/utils/ptr"
)

// LeaseName is the Lease every pivotcheck run takes in the moved namespace.
const LeaseName = "pivotcheck-move"

// TakeOverFlag is the flag that takes over an expired Lease.
const TakeOverFlag = "--take-over-lock"

// Defaults: a run that dies is seen as gone within DefaultDuration; it
// renews every DefaultRenewEvery, so several renewals may fail in a row
// (an API server restarting) before its lease expires.
const (
	DefaultDuration   = 40 * time.Second
	DefaultRenewEvery = 5 * time.Second
)

// HolderIdentity is "hostname/pid/runID": enough for an operator to find
// the run that holds a lock.
func HolderIdentity(runID string) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), runID)
}

// NewHolder is the HolderIdentity of a new run (8 random hex digits as its run ID).
func NewHolder() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return HolderIdentity(hex.EncodeToString(b))
}

// Action is what to do with a Lease.
type Action string

// Actions of Decide.
const (
	// Create: there is no Lease; create it.
	Create Action = "create"
	// Renew: the Lease is ours already (a retry after a lost answer).
	Renew Action = "renew"
	// Take: the Lease has no holder (released) or expired and the operator
	// asked to take it over; update it with us as holder.
	Take Action = "take"
	// Refuse: another run holds it.
	Refuse Action = "refuse"
)

// Decision is Decide's answer; Reason is one sentence for a refusal.
type Decision struct {
	Action Action
	Reason string
}

// Expiry is when l lapses if its holder stops renewing (zero: no time recorded).
func Expiry(l *coordinationv1.Lease) time.Time {
	last := l.Spec.RenewTime
	if last == nil {
		last = l.Spec.AcquireTime
	}
	if last == nil {
		return time.Time{}
	}
	return last.Add(time.Duration(ptr.Deref(l.Spec.LeaseDurationSeconds, 0)) * time.Second)
}

// Decide says what a run identified by me does with lease l (nil: none)
// at now. takeOver is the operator's explicit permission to take over a
// Lease whose holder is gone: expired (not renewed for its duration), or
// holderGone (the holder's process provably no longer runs: same host, no
// such pid). A live Lease of a running holder is never taken.
func Decide(l *coordinationv1.Lease, me string, now time.Time, takeOver, holderGone bool) Decision {
	if l == nil {
		return Decision{Action: Create}
	}
	holder := ptr.Deref(l.Spec.HolderIdentity, "")
	switch holder {
	case "":
		return Decision{Action: Take}
	case me:
		return Decision{Action: Renew}
	}
	since := "an unknown time"
	if l.Spec.AcquireTime != nil {
		since = l.Spec.AcquireTime.UTC().Format(time.RFC3339)
	}
	exp := Expiry(l)
	expired := !exp.IsZero() && exp.Before(now)
	if !expired && !holderGone {
		left := "no renewal time recorded"
		if !exp.IsZero() {
			left = fmt.Sprintf("it renews it, next expiry in %s", exp.Sub(now).Round(time.Second))
		}
		return Decision{Action: Refuse, Reason: fmt.Sprintf("Lease %s/%s is held by %s since %s (%s): another pivotcheck run works on this namespace; wait for it to end", l.Namespace, l.Name, holder, since, left)}
	}
	if takeOver {
		return Decision{Action: Take}
	}
	gone := fmt.Sprintf("expired at %s (%s ago)", exp.UTC().Format(time.RFC3339), now.Sub(exp).Round(time.Second))
	if !expired {
		gone = "its process no longer runs on this host (killed?)"
	}
	return Decision{Action: Refuse, Reason: fmt.Sprintf("Lease %s/%s is held by %s since %s and %s: if that run is gone, re-run with %s", l.Namespace, l.Name, holder, since, gone, TakeOverFlag)}
}

// HolderGone reports whether holder (HolderIdentity) names a process of
// this host that no longer runs. A holder on another host is never known
// to be gone: only its Lease's expiry tells.
func HolderGone(holder string) bool {
	parts := strings.Split(holder, "/")
	if len(parts) != 3 {
		return false
	}
	host, err := os.Hostname()
	if err != nil || host != parts[0] {
		return false
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil || pid <= 0 || pid == os.Getpid() {
		return false
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
