package movelock

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestDecide(t *testing.T) {
	now := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	lease := func(holder string, acquired, renewed time.Duration, seconds int32) *coordinationv1.Lease {
		l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: "metal3", Name: LeaseName}}
		if holder != "" {
			l.Spec.HolderIdentity = ptr.To(holder)
		}
		l.Spec.AcquireTime = ptr.To(metav1.NewMicroTime(now.Add(-acquired)))
		l.Spec.RenewTime = ptr.To(metav1.NewMicroTime(now.Add(-renewed)))
		l.Spec.LeaseDurationSeconds = ptr.To(seconds)
		return l
	}
	const me = "host/1/aaaa"
	cases := []struct {
		name     string
		l        *coordinationv1.Lease
		takeOver bool
		gone     bool
		want     Action
		reason   []string
	}{
		{name: "no lease", want: Create},
		{name: "released (no holder)", l: lease("", time.Minute, time.Minute, 40), want: Take},
		{name: "ours", l: lease(me, time.Minute, time.Second, 40), want: Renew},
		{name: "ours even when expired", l: lease(me, time.Hour, time.Hour, 40), want: Renew},
		{name: "live, other holder", l: lease("other/2/bbbb", 10*time.Minute, 3*time.Second, 40), want: Refuse,
			reason: []string{"held by other/2/bbbb since 2026-12-06T07:50:00Z", "next expiry in 37s", "wait for it to end"}},
		{name: "live, take-over asked: still refused", l: lease("other/2/bbbb", 10*time.Minute, 3*time.Second, 40), takeOver: true, want: Refuse,
			reason: []string{"held by other/2/bbbb"}},
		{name: "expired exactly now is still live", l: lease("other/2/bbbb", time.Minute, 40*time.Second, 40), want: Refuse, reason: []string{"wait for it to end"}},
		{name: "expired, no take-over", l: lease("other/2/bbbb", 10*time.Minute, 2*time.Minute, 40), want: Refuse,
			reason: []string{"expired at 2026-12-06T07:58:40Z (1m20s ago)", "re-run with --take-over-lock"}},
		{name: "expired, take-over", l: lease("other/2/bbbb", 10*time.Minute, 2*time.Minute, 40), takeOver: true, want: Take},
		{name: "live but its process is gone, no take-over", l: lease("other/2/bbbb", time.Minute, time.Second, 40), gone: true, want: Refuse,
			reason: []string{"its process no longer runs on this host (killed?)", "re-run with --take-over-lock"}},
		{name: "live but its process is gone, take-over", l: lease("other/2/bbbb", time.Minute, time.Second, 40), gone: true, takeOver: true, want: Take},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Decide(c.l, me, now, c.takeOver, c.gone)
			require.Equal(t, c.want, d.Action, d.Reason)
			for _, r := range c.reason {
				require.Contains(t, d.Reason, r)
			}
			if c.want != Refuse {
				require.Empty(t, d.Reason)
			}
		})
	}
}

func TestFolderLock(t *testing.T) {
	dir := t.TempDir() + "/backup"
	l, err := LockFolder(dir, "host/1/aaaa")
	require.NoError(t, err)
	_, err = LockFolder(dir, "host/2/bbbb")
	var busy *FolderBusyError
	require.ErrorAs(t, err, &busy)
	require.Contains(t, err.Error(), "in use by another pivotcheck run (host/1/aaaa)")
	require.NoError(t, l.Unlock())
	require.NoDirExists(t, dir, "a folder the lock created and nothing else used is removed")

	// A folder that holds a backup keeps it (and its lock file) after unlock.
	l, err = LockFolder(dir, "host/2/bbbb")
	require.NoError(t, err)
	require.NoError(t, writeFile(dir+"/pivotcheck-state.json"))
	require.NoError(t, l.Unlock())
	require.FileExists(t, dir+"/pivotcheck-state.json")
	l, err = LockFolder(dir, "host/3/cccc")
	require.NoError(t, err, "the lock is free once the holder unlocked")
	require.NoError(t, l.Unlock())
}

func writeFile(p string) error { return os.WriteFile(p, []byte("{}"), 0o600) }

func TestHolderGone(t *testing.T) {
	host, err := os.Hostname()
	require.NoError(t, err)
	require.False(t, HolderGone(HolderIdentity("x")), "this process runs")
	require.False(t, HolderGone(host+"/1/x"), "pid 1 runs")
	require.True(t, HolderGone(host+"/2147483000/x"), "no such pid")
	require.False(t, HolderGone("elsewhere/2147483000/x"), "another host: unknown")
	require.False(t, HolderGone("not a holder"))
}
