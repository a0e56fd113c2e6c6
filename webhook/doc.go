// Package webhook is the validating admission webhook that refuses
// clusterctl's pause and delete-for-move of Metal3 objects while a
// BareMetalHost is mid-operation or Ironic still runs.
package webhook
