// Package e2e holds Vigil's end-to-end tests: real vigild daemons (and strongSwan's charon) in
// network namespaces with veth links, carrying real traffic between hosts behind the gateways.
// They need root and skip otherwise.
package e2e
