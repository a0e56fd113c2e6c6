// Package pivotcheck holds the preflight checks of both clusters and the
// move driver (issues 5 and 6).
package pivotcheck
