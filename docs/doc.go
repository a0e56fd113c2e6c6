// Package docs holds the repository's documentation pages and no code: its
// test keeps the README's map from each pivot prerequisite to the functions
// that enforce it true to the source tree.
package docs
