// Package hostsafety decides, from a BareMetalHost alone, whether moving it
// now is safe (docs/facts.md#baremetalhost-states). It is the one place these rules
// live: the webhook, preflight and the move driver all call it.
package hostsafety
