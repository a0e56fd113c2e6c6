// Package ironic holds the lab tests of a pivot with real Ironics in the
// loop: BMO runs without its test mode on both sides, each cluster's BMO
// talks to its own Ironic, and both Ironics reach the same emulated BMCs
// through proxies that record every write.
package ironic
