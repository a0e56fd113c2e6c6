// Package pivotcheck holds the preflight checks of both clusters and the
// move driver.
package pivotcheck
