package main

import (
	"go.uber.org/zap/zapcore"
)

// zapLevel maps klog-style verbosity to zap: V(n) logs are zap level -n.
func zapLevel(v int) zapcore.Level {
	if v <= 0 {
		return zapcore.InfoLevel
	}
	return zapcore.Level(-v)
}
