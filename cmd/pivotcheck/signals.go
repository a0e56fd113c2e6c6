package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// stopSignals end a running command the clean way (the run's context is
// cancelled, the report says what each side holds): Ctrl-C, SIGTERM, and
// SIGHUP, which a dropped SSH session or a closed terminal sends and whose
// default action would kill pivotcheck with no report and no resume command.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// signalContext is cancelled by the first stop signal. The default actions
// are then restored, so a second signal ends the process at once.
func signalContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(parent, stopSignals...)
	go func() { <-ctx.Done(); stop() }()
	return ctx, stop
}
