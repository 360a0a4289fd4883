// Package examples holds example configurations: two Vigil gateways in a tunnel
// (vigil-site-a.toml, vigil-site-b.toml, sharing site-a-site-b.psk) and Vigil facing
// strongSwan (vigil-to-strongswan.toml with strongswan/swanctl.conf and
// strongswan/strongswan.conf), and a hub whose tunnels live in included files
// (vigil-hub.toml and hub.d/). It has no code; its tests load every example with
// config.Load and check that the two ends of each tunnel agree, so the examples cannot
// drift from what vigild accepts.
package examples
