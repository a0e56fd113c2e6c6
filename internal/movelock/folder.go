package movelock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// FolderLockFile is the lock file in a backup folder. clusterctl
// --from-directory reads DIR/objects only, so it never sees it.
const FolderLockFile = ".pivotcheck.lock"

// FolderLock is an exclusive flock on a backup folder's lock file: the
// kernel drops it when the process ends, however it ends (SIGKILL too).
type FolderLock struct {
	f       *os.File
	dir     string
	created bool
}

// FolderBusyError is a refusal: another run holds the folder.
type FolderBusyError struct {
	Dir, Holder string
}

func (e *FolderBusyError) Error() string {
	return fmt.Sprintf("backup folder %s is in use by another pivotcheck run (%s): two runs cannot share a backup folder; nothing was changed", e.Dir, e.Holder)
}

// LockFolder creates dir (0700) when missing and takes its lock, writing
// holder into the lock file so a refused run can name it.
func LockFolder(dir, holder string) (*FolderLock, error) {
	created := false
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("creating backup folder %s: %w", dir, err)
		}
		created = true
	}
	path := filepath.Join(dir, FolderLockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the lock file of backup folder %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		raw, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			h := strings.TrimSpace(string(raw))
			if h == "" {
				h = "holder unknown"
			}
			return nil, &FolderBusyError{Dir: dir, Holder: h}
		}
		return nil, fmt.Errorf("locking backup folder %s: %w", dir, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(holder+"\n"), 0)
	}
	return &FolderLock{f: f, dir: dir, created: created}, nil
}

// Unlock drops the lock. A folder this lock created and that holds
// nothing else (the run refused before writing anything) is removed.
func (l *FolderLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	if l.created {
		if entries, err := os.ReadDir(l.dir); err == nil && len(entries) == 1 && entries[0].Name() == FolderLockFile {
			_ = os.Remove(filepath.Join(l.dir, FolderLockFile))
			_ = os.Remove(l.dir)
		}
	}
	err := l.f.Close() // closing the descriptor drops the flock
	l.f = nil
	return err
}

// IsLockFile reports whether name is the folder's lock file (a backup
// folder that holds only it is empty).
func IsLockFile(name string) bool { return name == FolderLockFile }
