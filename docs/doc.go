// Package docs holds the repository's documentation pages and no code: its
// tests keep development.md's map from each pivot prerequisite to the
// functions that enforce it, and preflight.md's table of check IDs, true to
// the source tree.
package docs
